using System.Diagnostics;
using HyperSharp.Vhdx.Vhd;
using Xunit.Abstractions;

namespace HyperSharp.Vhdx.Tests.Vhd;

/// <summary>A scratch directory per test, deleted afterwards.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hysh-vhd-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Small helpers the VHD tests share: test data, disk creation, image patching.</summary>
internal static class VhdTest
{
    public const int MiB = 1024 * 1024;

    public static byte[] Pattern(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    public static VhdDisk Create(string path, DiskType type, long capacity, string? parent = null, int blockSize = 0) =>
        VhdDisk.Create(path, new DiskCreateOptions
        {
            Format = DiskFormat.Vhd, Type = type, Capacity = capacity, ParentPath = parent, BlockSize = blockSize,
        });

    public static byte[] ReadAll(IVirtualDisk disk)
    {
        var b = new byte[disk.Capacity];
        disk.Read(0, b);
        return b;
    }

    /// <summary>Rewrites the trailing footer (and the copy at 0 for sparse disks) after <paramref name="mutate"/>, re-checksummed unless told not to.</summary>
    public static void PatchFooter(string path, Action<byte[]> mutate, bool fixChecksum = true)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        var b = new byte[512];
        fs.Position = fs.Length - 512;
        fs.ReadExactly(b);
        mutate(b);
        if (fixChecksum) WriteBigEndian(b, 64, VhdChecksum.Compute(b, 64));
        fs.Position = fs.Length - 512;
        fs.Write(b);
    }

    /// <summary>Rewrites the dynamic header at 512 after <paramref name="mutate"/>, re-checksummed unless told not to.</summary>
    public static void PatchHeader(string path, Action<byte[]> mutate, bool fixChecksum = true)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        var b = new byte[1024];
        fs.Position = 512;
        fs.ReadExactly(b);
        mutate(b);
        if (fixChecksum) WriteBigEndian(b, 36, VhdChecksum.Compute(b, 36));
        fs.Position = 512;
        fs.Write(b);
    }

    public static void PatchBytes(string path, long offset, ReadOnlySpan<byte> bytes)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        fs.Position = offset;
        fs.Write(bytes);
    }

    public static void WriteBigEndian(byte[] b, int offset, uint value) =>
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(offset), value);

    public static void WriteBigEndian(byte[] b, int offset, ulong value) =>
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(offset), value);
}

/// <summary>Runs the qemu peer (qemu-img, qemu-io from Debian's qemu-utils); tests skip with a reason when absent.</summary>
internal static class Qemu
{
    public const string Img = "/usr/bin/qemu-img";
    public const string Io = "/usr/bin/qemu-io";

    /// <summary>True when qemu is installed; otherwise writes why the test is skipped.</summary>
    public static bool Available(ITestOutputHelper output)
    {
        if (File.Exists(Img) && File.Exists(Io)) return true;
        output.WriteLine($"SKIPPED: {Img} or {Io} not found; install Debian's qemu-utils to run this interop test.");
        return false;
    }

    public static (int Code, string Output) Run(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(30_000)) { p.Kill(); throw new TimeoutException($"{exe} {string.Join(' ', args)} did not finish in 30 s"); }
        return (p.ExitCode, stdout + stderr.Result);
    }

    /// <summary>Runs and asserts success, returning the output.</summary>
    public static string Ok(string exe, params string[] args)
    {
        var (code, output) = Run(exe, args);
        Assert.True(code == 0, $"{exe} {string.Join(' ', args)} exited {code}: {output}");
        return output;
    }
}
