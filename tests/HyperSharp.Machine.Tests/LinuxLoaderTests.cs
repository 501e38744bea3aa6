using System.Buffers.Binary;
using System.Diagnostics;
using HyperSharp.Machine.Boot;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests;

public class LinuxLoaderTests(ITestOutputHelper output)
{
    private static readonly E820Entry[] Map =
    [
        new(0, 0x9FC00, E820Type.Ram), new(0x9FC00, 0x400, E820Type.Reserved), new(0xF0000, 0x10000, E820Type.Reserved),
        new(0x100000, (512UL << 20) - 0x100000, E820Type.Ram),
    ];

    [Fact]
    public async Task DebianBzImageDecompressesOnTheHostLikeXzDoes()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        byte[] file = File.ReadAllBytes(Path.Combine(kit, "vmlinuz"));
        var sw = Stopwatch.StartNew();
        var kernel = KernelImage.Parse(file);
        output.WriteLine($"parsed and decompressed in {sw.ElapsedMilliseconds} ms: {kernel.Compression}, protocol {kernel.BootProtocol:X}, entry 0x{kernel.EntryPoint:X}");
        Assert.Equal(KernelCompression.Xz, kernel.Compression);
        Assert.Equal(0x1000000UL, kernel.EntryPoint); // startup_64 at LOAD_PHYSICAL_ADDR
        Assert.Contains(kernel.Segments, s => s.PhysicalAddress == 0x1000000);

        // The peer: xz(1) decompresses the same payload; the ELF we loaded must be its segments.
        int setupSects = file[0x1F1];
        int start = (setupSects + 1) * 512 + BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(0x248));
        int length = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(0x24C));
        var psi = new ProcessStartInfo("xz", ["-dc", "--single-stream"]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var xz = Process.Start(psi)!;
        var read = Task.Run(() => { using var ms = new MemoryStream(); xz.StandardOutput.BaseStream.CopyTo(ms); return ms.ToArray(); });
        xz.StandardInput.BaseStream.Write(file, start, length - 4);
        xz.StandardInput.Close();
        byte[] reference = await read;
        Assert.True(xz.WaitForExit(60_000));
        var first = kernel.Segments[0];
        ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(reference.AsSpan(32));
        ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(reference.AsSpan((int)phoff + 8));
        Assert.True(reference.AsSpan((int)offset, first.Data.Length).SequenceEqual(first.Data), "first segment differs from xz's output");
    }

    [Fact]
    public void PlanPlacesKernelInitrdCommandLineAndZeroPage()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        var kernel = KernelImage.Read(Path.Combine(kit, "vmlinuz"));
        byte[] initrd = File.ReadAllBytes(Path.Combine(kit, "initrd.img"));
        var plan = LinuxBootPlanner.Plan(kernel, initrd, "console=ttyS0 hs.test", Map, acpiRsdp: 0xF0000);
        var zeroPage = plan.Blobs.Single(b => b.Address == LinuxBootPlanner.BootParamsAddress).Data;
        Assert.Equal(0x53726448u, BinaryPrimitives.ReadUInt32LittleEndian(zeroPage.AsSpan(0x202)));
        Assert.Equal(LinuxBootPlanner.CommandLineAddress, BinaryPrimitives.ReadUInt32LittleEndian(zeroPage.AsSpan(0x228)));
        Assert.Equal(plan.InitrdAddress, BinaryPrimitives.ReadUInt32LittleEndian(zeroPage.AsSpan(0x218)));
        Assert.Equal((uint)initrd.Length, BinaryPrimitives.ReadUInt32LittleEndian(zeroPage.AsSpan(0x21C)));
        Assert.Equal(Map.Length, zeroPage[0x1E8]);
        Assert.Equal(0xF0000UL, BinaryPrimitives.ReadUInt64LittleEndian(zeroPage.AsSpan(0x70)));
        Assert.Equal(0UL, plan.InitrdAddress % 4096);
        Assert.True(plan.InitrdAddress + plan.InitrdSize <= 512UL << 20);
        ulong kernelEnd = kernel.Segments.Max(s => s.PhysicalAddress + s.MemorySize);
        Assert.True(plan.InitrdAddress >= kernelEnd);
        Assert.Equal(0x1000000UL, plan.Entry.Rip);
        Assert.Equal(LinuxBootPlanner.BootParamsAddress, plan.Entry.Rsi);
    }

    [Fact]
    public void ThePlatformSkipsTheTimerCheckAStarvedVcpuCannotPass()
    {
        Assert.Equal("console=ttyS0 no_timer_check", PlatformCommandLine.For("console=ttyS0"));
        Assert.Equal("no_timer_check", PlatformCommandLine.For(""));
        Assert.Equal("quiet no_timer_check root=/dev/vda", PlatformCommandLine.For("quiet no_timer_check root=/dev/vda")); // named once only
    }

    [Fact]
    public void BadKernelsGetClearErrors()
    {
        Assert.Contains("not a bzImage", Assert.Throws<KernelImageException>(() => KernelImage.Parse(new byte[4096])).Message);
        var bz = new byte[0x1000];
        BinaryPrimitives.WriteUInt32LittleEndian(bz.AsSpan(0x202), 0x53726448);
        BinaryPrimitives.WriteUInt16LittleEndian(bz.AsSpan(0x206), 0x020F);
        bz[0x236] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(bz.AsSpan(0x248), 0x100);
        BinaryPrimitives.WriteUInt32LittleEndian(bz.AsSpan(0x24C), 0x10000);
        Assert.Contains("outside", Assert.Throws<KernelImageException>(() => KernelImage.Parse(bz)).Message);
        var elf = new byte[128];
        Elf64Kernel.ElfMagic.CopyTo(elf);
        elf[4] = 2; elf[5] = 1; elf[18] = 62;
        BinaryPrimitives.WriteUInt64LittleEndian(elf.AsSpan(32), 1 << 30); // program headers far outside
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(54), 56);
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(56), 1);
        Assert.Contains("outside the file", Assert.Throws<KernelImageException>(() => KernelImage.Parse(elf)).Message);
    }
}
