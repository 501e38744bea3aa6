using System.Diagnostics;
using HyperSharp.Vhdx.Operations;
using Xunit.Abstractions;

namespace HyperSharp.Vhdx.Tests;

/// <summary>
/// What a path is, decided in one place (VirtualDisk.Identify, under every open): a file named as VHDX or VHD must
/// carry that format's signature, raw is raw only by its name or an explicit format, and FIFOs, character devices,
/// directories and (unless raw is explicit) block devices are refused at once, never read or waited on.
/// </summary>
public class ImageIdentityTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(20);

    private static byte[] RandomBytes(int length)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        return data;
    }

    /// <summary>Every entry point a user reaches an existing image through: open, info, check, convert, compact.</summary>
    private static IEnumerable<(string Name, Action<string> Run)> EntryPoints(TempDir dir) =>
    [
        ("open", p => VirtualDisk.Open(p, DiskOpenOptions.ReadOnlyDefault).Dispose()),
        ("open writable", p => VirtualDisk.Open(p).Dispose()),
        ("info", p => DiskInfo.Read(p)),
        ("check", p => DiskCheck.Run(p, repair: false)),
        ("check --repair", p => DiskCheck.Run(p, repair: true)),
        ("convert", p => DiskConvert.Convert(p, dir.File(Guid.NewGuid().ToString("N") + ".raw"))),
        ("compact", p => DiskCompact.Optimize(p)),
    ];

    /// <summary>Runs <paramref name="action"/> expecting a refusal of type T within <see cref="Hang"/>; a hang or success fails.</summary>
    private T Refused<T>(string what, Action action) where T : Exception
    {
        var task = Task.Run(action);
        Assert.True(((IAsyncResult)task).AsyncWaitHandle.WaitOne(Hang), $"{what} hangs");
        Assert.True(task.IsFaulted, $"{what} was accepted");
        var e = task.Exception!.InnerException!;
        output.WriteLine($"{what}: {e.GetType().Name}: {e.Message}");
        return Assert.IsType<T>(e);
    }

    private void RefusedEverywhere(TempDir dir, string path, byte[] content, string signature)
    {
        foreach (var (name, run) in EntryPoints(dir))
        {
            var e = Refused<ImageFormatException>($"{name} {Path.GetFileName(path)}", () => run(path));
            Assert.Contains(path, e.Message);
            Assert.Contains(signature, e.Message);
            Assert.Equal(content, File.ReadAllBytes(path)); // nothing was written, not even by a repair
        }
    }

    [Theory]
    [InlineData("random.vhdx", "'vhdxfile'")]
    [InlineData("random.avhdx", "'vhdxfile'")]
    [InlineData("random.vhd", "'conectix'")]
    [InlineData("random.avhd", "'conectix'")]
    public void RandomBytesNamedAsAnImage_AreRefusedNamingTheMissingSignature(string name, string signature)
    {
        using var dir = new TempDir();
        string path = dir.File(name);
        var content = RandomBytes(3 << 20);
        File.WriteAllBytes(path, content);
        RefusedEverywhere(dir, path, content, signature);

        // The same bytes are a perfectly good raw disk when the caller says so.
        using var raw = VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault, DiskFormat.Raw);
        Assert.Equal(DiskFormat.Raw, raw.Format);
        Assert.Equal(content.Length, raw.Capacity);
        Assert.Equal(DiskFormat.Raw, DiskInfo.Read(path, DiskFormat.Raw).Format);
    }

    [Theory]
    [InlineData("empty.vhdx", "'vhdxfile'")]
    [InlineData("empty.vhd", "'conectix'")]
    public void AnEmptyFileNamedAsAnImage_IsRefused(string name, string signature)
    {
        using var dir = new TempDir();
        string path = dir.File(name);
        File.WriteAllBytes(path, []);
        RefusedEverywhere(dir, path, [], signature);
        Assert.Contains("the file is empty", Assert.Throws<ImageFormatException>(() => VirtualDisk.Identify(path)).Message);
    }

    [Fact]
    public void AVhdxWhoseSignatureWasOverwritten_IsRefused()
    {
        using var dir = new TempDir();
        string path = dir.File("d.vhdx");
        using (var d = VirtualDisk.Create(path, new DiskCreateOptions { Capacity = 8 << 20 })) d.Write(0, RandomBytes(4096));
        using (var f = File.OpenWrite(path)) f.Write("XXXXXXXX"u8);
        RefusedEverywhere(dir, path, File.ReadAllBytes(path), "'vhdxfile'");
        // An explicit format is no way around the signature either.
        Assert.Throws<ImageFormatException>(() => VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault, DiskFormat.Vhdx));
    }

    [Fact]
    public void AVhdNamedVhdx_IsRefusedSayingWhatItIs()
    {
        using var dir = new TempDir();
        string vhd = dir.File("d.vhd"), misnamed = dir.File("d.vhdx");
        using (VirtualDisk.Create(vhd, new DiskCreateOptions { Format = DiskFormat.Vhd, Capacity = 8 << 20 })) { }
        File.Copy(vhd, misnamed);
        var e = Assert.Throws<ImageFormatException>(() => VirtualDisk.Open(misnamed, DiskOpenOptions.ReadOnlyDefault));
        Assert.Contains("carries the VHD signature", e.Message);
        using var asVhd = VirtualDisk.Open(misnamed, DiskOpenOptions.ReadOnlyDefault, DiskFormat.Vhd);
        Assert.Equal(DiskFormat.Vhd, asVhd.Format);
    }

    [Fact]
    public void AVhdxNamedAsRaw_IsRawNotProbed()
    {
        // A guest can write anything into its raw disk, a VHDX header with a parent locator naming a host file
        // included: a raw-named file is never probed into another format.
        using var dir = new TempDir();
        string vhdx = dir.File("d.vhdx"), raw = dir.File("d.img");
        using (VirtualDisk.Create(vhdx, new DiskCreateOptions { Capacity = 8 << 20 })) { }
        File.Copy(vhdx, raw);
        using var disk = VirtualDisk.Open(raw, DiskOpenOptions.ReadOnlyDefault);
        Assert.Equal(DiskFormat.Raw, disk.Format);
        Assert.Equal(new FileInfo(raw).Length, disk.Capacity);
        Assert.Equal(DiskFormat.Vhdx, VirtualDisk.Identify(raw, DiskFormat.Vhdx));
    }

    [Theory]
    [InlineData("pipe.vhdx")]
    [InlineData("pipe.vhd")]
    [InlineData("pipe.img")]
    public void AFifo_IsRefusedAtOnce(string name)
    {
        using var dir = new TempDir();
        string path = dir.File(name);
        MakeFifo(path);
        foreach (var (what, run) in EntryPoints(dir))
        {
            var e = Refused<ImageKindException>($"{what} on a FIFO", () => run(path));
            Assert.Equal(ImageFileKind.Fifo, e.Kind);
            Assert.Contains(path, e.Message);
            Assert.Contains("FIFO", e.Message);
        }
        // Explicitly raw does not make a FIFO a disk; nor does a symbolic link that hides it.
        Refused<ImageKindException>("raw FIFO", () => VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault, DiskFormat.Raw).Dispose());
        File.CreateSymbolicLink(dir.File("link.vhdx"), path);
        Assert.Equal(ImageFileKind.Fifo, Refused<ImageKindException>("link to a FIFO", () => DiskInfo.Read(dir.File("link.vhdx"))).Kind);
    }

    [Fact]
    public void DevZeroAndDirectories_AreRefused()
    {
        foreach (var format in new DiskFormat?[] { null, DiskFormat.Raw })
        {
            var e = Refused<ImageKindException>($"/dev/zero as {format}", () => DiskInfo.Read("/dev/zero", format));
            Assert.Equal(ImageFileKind.CharacterDevice, e.Kind);
            Assert.Contains("/dev/zero", e.Message);
            Refused<ImageKindException>($"check /dev/zero as {format}", () => DiskCheck.Run("/dev/zero", false, format));
        }
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("folder.vhdx"));
        Assert.Equal(ImageFileKind.Directory, Refused<ImageKindException>("a directory", () => VirtualDisk.Open(dir.File("folder.vhdx")).Dispose()).Kind);
        Assert.Throws<FileNotFoundException>(() => VirtualDisk.Open(dir.File("missing.vhdx")));
    }

    [Fact]
    public void ABlockDevice_IsADiskOnlyWhenRawIsExplicit()
    {
        string? device = Directory.EnumerateFiles("/dev").FirstOrDefault(p => Kind(p) == ImageFileKind.BlockDevice);
        if (device is null) { output.WriteLine("skipped: this host has no block device node in /dev"); return; }
        // Refused before anything opens it for I/O, so any block device serves.
        var e = Refused<ImageKindException>($"{device} by name", () => VirtualDisk.Open(device, DiskOpenOptions.ReadOnlyDefault).Dispose());
        Assert.Equal(ImageFileKind.BlockDevice, e.Kind);
        Assert.Contains("--format raw", e.Message);
        Refused<ImageKindException>($"{device} as VHDX", () => VirtualDisk.Open(device, DiskOpenOptions.ReadOnlyDefault, DiskFormat.Vhdx).Dispose());
    }

    [Fact]
    public void ABlockDeviceGivenAsRaw_IsReadWithItsSize()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || !File.Exists("/usr/sbin/losetup"))
        {
            output.WriteLine("skipped: needs root and losetup to make a loop device");
            return;
        }
        using var dir = new TempDir();
        string backing = dir.File("backing.img");
        var content = RandomBytes(4 << 20);
        File.WriteAllBytes(backing, content);
        var (rc, loop) = Run("/usr/sbin/losetup", "--find", "--show", "--read-only", backing);
        if (rc != 0) { output.WriteLine($"skipped: losetup cannot attach a loop device here ({loop})"); return; }
        loop = loop.Trim();
        try
        {
            using var disk = VirtualDisk.Open(loop, DiskOpenOptions.ReadOnlyDefault, DiskFormat.Raw);
            Assert.Equal(content.Length, disk.Capacity);
            var read = new byte[4096];
            disk.Read(1 << 20, read);
            Assert.Equal(content.AsSpan(1 << 20, 4096).ToArray(), read);
            Assert.Equal(content.Length, DiskInfo.Read(loop, DiskFormat.Raw).FileSize);
        }
        finally { Run("/usr/sbin/losetup", "--detach", loop); }
    }

    [Fact]
    public void AVhdxChildWhoseParentIsAFifo_IsRefusedNotHung()
    {
        using var dir = new TempDir();
        string parent = dir.File("p.vhdx"), child = dir.File("c.avhdx");
        using (VirtualDisk.Create(parent, new DiskCreateOptions { Capacity = 8 << 20 })) { }
        using (VirtualDisk.Create(child, new DiskCreateOptions { Type = DiskType.Differencing, ParentPath = parent })) { }
        File.Delete(parent);
        MakeFifo(parent);
        var e = Refused<ImageKindException>("a child of a FIFO", () => VirtualDisk.Open(child, DiskOpenOptions.ReadOnlyDefault).Dispose());
        Assert.Contains(parent, e.Message);
    }

    private static ImageFileKind? Kind(string path)
    {
        try { return ImageFile.KindOf(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or VirtualDiskException) { return null; }
    }

    private static void MakeFifo(string path) => Assert.Equal(0, Run("/usr/bin/mkfifo", path).Exit);

    private static (int Exit, string Output) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout);
    }
}
