using HyperSharp.Hypervisor;
using HyperSharp.Machine.Migration;
using HyperSharp.Machine.State;
using HyperSharp.Machine.Tests.State;
using HyperSharp.Vhdx;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests.Migration;

/// <summary>
/// A counting VM with a writable VHDX moved between two VMs over loopback TCP: the image changes hands in the pause, its
/// exclusive lock the fence (a third opener — this test — is refused by whichever side holds it, and at no moment do both).
/// A destination that fails after it opened the image gives it back, and the source counts on with it open for writing.
/// </summary>
public sealed class DiskHandoverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);
    private static readonly byte[] Pattern = [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 7 + 3))];

    private sealed record Source(VirtualMachine Vm, GuestConsole Console, Task<VmStopped> Run, VmConfig Config, IHypervisor Hypervisor) : IDisposable
    {
        public void Dispose()
        {
            Vm.Stop();
            Run.Wait();
            Vm.Dispose();
        }
    }

    private Source Start(string dir, string image)
    {
        string kernel = Path.Combine(dir, "counter.elf");
        File.WriteAllBytes(kernel, CounterGuest.Elf(100_000));
        var console = new GuestConsole();
        var config = new VmConfig { KernelPath = kernel, MemorySize = 16 << 20, ConsoleOutput = console.Append, Log = output.WriteLine, Disks = [new DiskAttachment(image)] };
        var hypervisor = CounterGuest.Hypervisor("emulated");
        var vm = new VirtualMachineBuilder(hypervisor, config).Build();
        return new Source(vm, console, Task.Run(vm.Run), config, hypervisor);
    }

    private static string NewImage(string dir)
    {
        string image = Path.Combine(dir, "data.vhdx");
        using var disk = VirtualDisk.Create(image, new DiskCreateOptions { Capacity = 4 << 20 });
        disk.Write(0, Pattern);
        return image;
    }

    /// <summary>Whether another writer could open <paramref name="image"/> now (it is held by nobody).</summary>
    private static bool Free(string image)
    {
        try { VirtualDisk.Open(image, DiskOpenOptions.Default).Dispose(); return true; }
        catch (IOException) { return false; }
    }

    private static byte[] FirstBlock(IVirtualDisk disk)
    {
        var block = new byte[Pattern.Length];
        disk.Read(0, block);
        return block;
    }

    [Fact]
    public Task AWritableDiskChangesHandsInThePauseAndTheDestinationWritesIt() => WithSource("00000100", async (source, image, link, hypervisor) =>
    {
        Assert.False(Free(image), "the running source does not hold its writable image");
        var destinationConsole = new GuestConsole();
        var receiving = Task.Run(() => MigrationTarget.ReceiveAsync(hypervisor, link.Destination, destinationConsole.Append, output.WriteLine));
        var result = await MigrationSource.SendAsync(source.Vm, SavedVmConfig.From(source.Config), hypervisor.Name, link.Source);
        output.WriteLine(result.ToString());
        using (var moved = await receiving)
        {
            Assert.Equal(VmStopReason.Stopped, (await source.Run).Reason);
            var gone = Assert.Throws<IOException>(() => FirstBlock(source.Vm.Disks[0])); // the source closed it in the pause
            Assert.Contains("handed over by live migration", gone.Message);
            Assert.Equal(Pattern, FirstBlock(moved.Disks[0]));
            Assert.Equal(4L << 20, moved.Disks[0].Capacity);
            Assert.False(Free(image), "the destination does not hold the image it took over");
            moved.Disks[0].Write(4096, Pattern);
            moved.Disks[0].Flush();
            var run = Task.Run(moved.Run);
            await destinationConsole.WaitFor(CounterGuest.Lines.ToString("X8"), Patience, run);
            Assert.Equal(CounterGuest.Expected(), source.Console.Text + destinationConsole.Text);
        }
        using var after = VirtualDisk.Open(image, DiskOpenOptions.ReadOnlyDefault); // let go with the destination's VM
        var written = new byte[Pattern.Length];
        after.Read(4096, written);
        Assert.Equal(Pattern, written);
    });

    [Fact]
    public Task ADestinationThatFailsAfterOpeningTheDiskGivesItBackAndTheSourceWritesOn() => WithSource("00000040", async (source, image, link, hypervisor) =>
    {
        bool? sourceHeldAtCut = null, destinationHeldAtCut = null;
        // The destination's Ready never leaves it: it has opened the image by then, and fails as a killed destination would.
        var dying = new CutBeforeFrameStream(link.Destination, kind: 8 /* Ready */, () =>
        {
            sourceHeldAtCut = CanRead(source.Vm.Disks[0]);
            destinationHeldAtCut = !Free(image);
            link.CutAtDestination();
        });
        var receiving = Task.Run(() => MigrationTarget.ReceiveAsync(hypervisor, dying, _ => { }, output.WriteLine));
        var failed = await Assert.ThrowsAsync<MigrationException>(() =>
            MigrationSource.SendAsync(source.Vm, SavedVmConfig.From(source.Config), hypervisor.Name, link.Source));
        output.WriteLine($"source: {failed.Message}");
        output.WriteLine($"destination: {(await Assert.ThrowsAnyAsync<Exception>(() => receiving)).Message}");
        Assert.False(sourceHeldAtCut, "the source still held its image while the destination had it open");
        Assert.True(destinationHeldAtCut, "the destination had not opened the image when it was about to say Ready");

        // The source took it back and runs on: it reads and writes the image, and nobody else can open it.
        Assert.False(source.Vm.IsPaused);
        Assert.Equal(Pattern, FirstBlock(source.Vm.Disks[0]));
        source.Vm.Disks[0].Write(8192, Pattern);
        source.Vm.Disks[0].Flush();
        Assert.False(Free(image), "the source runs on without holding its image");
        await source.Console.WaitFor(CounterGuest.Lines.ToString("X8"), Patience, source.Run);
        Assert.Equal(CounterGuest.Expected(), source.Console.Text);

        static bool CanRead(IVirtualDisk disk)
        {
            try { disk.Read(0, new byte[512]); return true; }
            catch (IOException) { return false; }
        }
    });

    [Fact]
    public Task AnInDoubtHandoverLeavesTheDiskClosedUntilTheSourceIsResumed() => WithSource("00000040", async (source, image, link, hypervisor) =>
    {
        var receiving = Task.Run(() => MigrationTarget.ReceiveAsync(hypervisor, link.Destination, _ => { }, output.WriteLine));
        var inDoubt = await Assert.ThrowsAsync<MigrationHandoverInDoubtException>(() =>
            MigrationSource.SendAsync(source.Vm, SavedVmConfig.From(source.Config), hypervisor.Name, new CutBeforeFrameStream(link.Source, kind: 9 /* Commit */, link.CutAtSource)));
        output.WriteLine(inDoubt.Message);
        output.WriteLine((await Assert.ThrowsAsync<MigrationException>(() => receiving)).Message); // no Commit: the destination discards the VM and lets go of the disk
        Assert.True(source.Vm.IsPaused);
        Assert.Throws<IOException>(() => FirstBlock(source.Vm.Disks[0])); // in doubt: the source keeps its hands off the image

        source.Vm.Resume(); // the destination is known to have nothing: the image opens here again first
        Assert.Equal(Pattern, FirstBlock(source.Vm.Disks[0]));
        Assert.False(Free(image), "the resumed source does not hold its image");
        await source.Console.WaitFor(CounterGuest.Lines.ToString("X8"), Patience, source.Run);
        Assert.Equal(CounterGuest.Expected(), source.Console.Text);
    });

    /// <summary>A counting source VM with a writable image, once it printed <paramref name="marker"/>, and a link for its migration.</summary>
    private async Task WithSource(string marker, Func<Source, string, LoopbackConnection, IHypervisor, Task> test)
    {
        string dir = Directory.CreateTempSubdirectory("hs-handover").FullName;
        try
        {
            string image = NewImage(dir);
            using var source = Start(dir, image);
            await source.Console.WaitFor(marker, Patience, source.Run);
            using var link = await LoopbackConnection.OpenAsync();
            await test(source, image, link, CounterGuest.Hypervisor("emulated"));
        }
        finally { Directory.Delete(dir, true); }
    }
}
