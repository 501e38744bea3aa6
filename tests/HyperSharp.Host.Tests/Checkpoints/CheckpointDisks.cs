using System.Diagnostics;
using HyperSharp.Api.V1;
using HyperSharp.Vhdx;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests.Checkpoints;

/// <summary>What a checkpoint test writes into and reads from a VM's disk (a 4 KiB mark at 1 MiB), and the checks of its image chains.</summary>
public static class CheckpointDisks
{
    private const long MarkOffset = 1 << 20;

    /// <summary>A VM (Off) with one new 8 MiB dynamic VHDX, DISK.vhdx in the host's root; Standard checkpoints unless <paramref name="checkpointType"/> says otherwise.</summary>
    public static async Task<(VmRef Vm, string Disk)> CreateVmAsync(HostFixture host, string name, string disk, CheckpointType checkpointType = CheckpointType.Standard)
    {
        string path = Path.Combine(host.Root, disk + ".vhdx");
        VirtualDisk.Create(path, new DiskCreateOptions { Capacity = 8 << 20 }).Dispose();
        var vm = new VmRef { Name = name };
        await host.Client.CreateVmAsync(new CreateVmRequest { Name = name, VhdPath = path, Backend = "emulated" });
        await host.Client.UpdateVmAsync(new UpdateVmRequest { Vm = vm, CheckpointType = checkpointType });
        return (vm, path);
    }

    /// <summary>A VM as <see cref="CreateVmAsync"/> makes it that boots the counter guest (<see cref="TestGuests.Counter"/>) in 64 MiB on the Emulated backend.</summary>
    public static async Task<(VmRef Vm, string Disk)> CreateCounterVmAsync(HostFixture host, string name, string disk)
    {
        var (vm, path) = await CreateVmAsync(host, name, disk);
        await host.Client.UpdateVmAsync(new UpdateVmRequest { Vm = vm, KernelPath = host.Guest("counter.elf", TestGuests.Counter()), MemoryStartupBytes = 64L << 20 });
        return (vm, path);
    }

    public static async Task<string> CurrentDiskAsync(HostFixture host, string vm) =>
        (await host.Client.GetVmAsync(new VmRef { Name = vm })).HardDrives.Single().Path;

    /// <summary>Writes the mark <paramref name="c"/> where the VM's drive is now (as its guest would).</summary>
    public static async Task WriteAsync(HostFixture host, string vm, char c)
    {
        using var disk = VirtualDisk.Open(await CurrentDiskAsync(host, vm));
        disk.Write(MarkOffset, Enumerable.Repeat((byte)c, 4096).ToArray());
    }

    /// <summary>The mark the image <paramref name="path"/> (with its parents) holds: the byte, or '\0' for none.</summary>
    public static char Read(string path)
    {
        using var disk = VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault);
        var buffer = new byte[4096];
        disk.Read(MarkOffset, buffer);
        Assert.True(buffer.All(b => b == buffer[0]), $"{path}: the mark is torn");
        return (char)buffer[0];
    }

    /// <summary>
    /// Every file of the image's chain passes `hyper vhd check`; its base (the file a merge writes into) also `qemu-img
    /// check` when installed. Peer gap: qemu-img opens no differencing VHDX at all ("Operation not supported").
    /// </summary>
    public static void AssertChainClean(ITestOutputHelper output, string path)
    {
        var chain = Vhdx.Operations.DiskChain.Paths(path);
        foreach (var file in chain)
        {
            var check = CliRunner.Run(output, "vhd", "check", file);
            Assert.True(check.Exit == 0, $"hyper vhd check {file}: {check.Out}{check.Error}");
        }
        if (!File.Exists("/usr/bin/qemu-img")) { output.WriteLine("qemu-img is not installed (qemu-utils): its check skipped"); return; }
        {
            string file = chain[^1];
            var psi = new ProcessStartInfo("/usr/bin/qemu-img") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "check", "-f", "vhdx", file }) psi.ArgumentList.Add(a);
            using var qemu = Process.Start(psi)!;
            string text = qemu.StandardOutput.ReadToEnd() + qemu.StandardError.ReadToEnd();
            Assert.True(qemu.WaitForExit(60_000), $"qemu-img check {file} did not end in 60 s");
            Assert.True(qemu.ExitCode == 0, $"qemu-img check {file}: {text}");
        }
    }
}
