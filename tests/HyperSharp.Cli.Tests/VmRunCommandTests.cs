using System.Diagnostics;
using HyperSharp.Machine.Boot;
using Xunit.Abstractions;

namespace HyperSharp.Cli.Tests;

/// <summary>`hyper vm run` as a real process: the guest's serial console on stdout, exit code from how the guest stopped.</summary>
public class VmRunCommandTests(ITestOutputHelper output)
{
    // mov dx,0x3F8; "hello from the guest\n" byte by byte through OUT; PM1a_CNT <- SLP_TYP 5 | SLP_EN; hlt
    private const string HelloGuest = "66BAF803B068EEB065EEB06CEEB06CEEB06FEEB020EEB066EEB072EEB06FEEB06DEEB020EEB074EEB068EEB065EEB020EEB067EEB075EEB065EEB073EEB074EEB00AEE66BA040666B8003466EFF4";

    // Prints ebx = 1..0x800 as eight hex digits per line, a busy wait between lines, then powers off.
    private const string CounterGuest = "BB00000000FFC3B90800000089DE66BAF803C1C60489F0250F00000005300000003D3900000076050507000000EEFFC975E0B00AEEB964000000FFC975FC81FB0008000075BF66BA040666B8003466EFF4";

    // The same with a 1000x longer busy wait, for the software processor (which runs kernel code ~100x faster than
    // this host's KVM): the count takes seconds, so a save 1.5 s in falls inside it even while the JIT warms up.
    private static readonly string SlowCounterGuest = CounterGuest.Replace("B964000000", "B9A0860100"); // mov ecx, 100 -> mov ecx, 100000

    private static (int Exit, string Out, string Error) RunHyper(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "hyper.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException("hyper vm run did not finish in 120 s"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void RunsAGuestWithItsConsoleOnStdoutAndExitsZeroOnPowerOff()
    {
        if (!File.Exists("/dev/kvm")) { output.WriteLine("skipped: no /dev/kvm on this host"); return; }
        using var dir = new TempDir();
        string kernel = dir.File("hello.elf");
        File.WriteAllBytes(kernel, ElfBuilder.Wrap(Convert.FromHexString(HelloGuest), 0x100000));
        var (exit, stdout, stderr) = RunHyper("vm", "run", "--kernel", kernel, "--memory", "64MB", "--backend", "kvm");
        output.WriteLine(stderr);
        Assert.Equal(0, exit);
        Assert.Equal("hello from the guest\n", stdout);
    }

    [Fact]
    public void BadArgumentsGetOneClearLineAndANonZeroExit()
    {
        using var dir = new TempDir();
        var missing = RunHyper("vm", "run", "--kernel", dir.File("nope"), "--backend", "kvm");
        Assert.NotEqual(0, missing.Exit);
        Assert.StartsWith("hyper: ", missing.Error);
        Assert.Contains("nope", missing.Error);
        Assert.DoesNotContain("internal error", missing.Error);
        var cpus = RunHyper("vm", "run", "--kernel", dir.File("nope"), "--cpus", "0");
        Assert.Equal(2, cpus.Exit);
        Assert.Contains("--cpus 0", cpus.Error);
        var backend = RunHyper("vm", "run", "--kernel", dir.File("nope"), "--backend", "quantum");
        Assert.Equal(2, backend.Exit);
        Assert.Contains("auto, kvm or emulated", backend.Error);
        var vendor = RunHyper("vm", "run", "--kernel", dir.File("nope"), "--cpu-vendor", "cyrix");
        Assert.Equal(2, vendor.Exit);
        Assert.Contains("--cpu-vendor cyrix: intel or amd", vendor.Error);
    }

    [Theory]
    [InlineData("kvm", "0.3")]
    [InlineData("emulated", "1.5")]
    public void SavedVmContinuesInANewProcessWithNoGapAndNoRepeat(string backend, string saveAfter)
    {
        if (backend == "kvm" && !File.Exists("/dev/kvm")) { output.WriteLine("skipped: no /dev/kvm on this host"); return; }
        using var dir = new TempDir();
        string kernel = dir.File("counter.elf"), state = dir.File("vm.state");
        File.WriteAllBytes(kernel, ElfBuilder.Wrap(Convert.FromHexString(backend == "kvm" ? CounterGuest : SlowCounterGuest), 0x100000));
        var first = RunHyper("vm", "run", "--kernel", kernel, "--memory", "64MB", "--backend", backend, "--save-after", saveAfter, "--state", state);
        output.WriteLine(first.Error);
        Assert.Equal(0, first.Exit);
        Assert.Contains("saved the VM to", first.Error);
        Assert.True(new FileInfo(state).Length < 2 << 20, "a 64 MB guest that touched little memory saves small");
        var second = RunHyper("vm", "restore", state, "--backend", backend);
        output.WriteLine(second.Error);
        Assert.Equal(0, second.Exit); // the restored guest counted to the end and powered off
        string all = first.Out + second.Out;
        var lines = all.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        output.WriteLine($"before the save: {first.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length} lines, after: {lines.Length} in all");
        Assert.True(first.Out.Length > 0 && second.Out.Length > 0, "the save must fall in the middle of the count");
        Assert.Equal(0x800, lines.Length);
        for (int i = 0; i < lines.Length; i++) Assert.Equal((i + 1).ToString("X8"), lines[i]);
    }

    [Fact]
    public void BadNicSpecificationsAreRefusedWithTheReason()
    {
        using var dir = new TempDir();
        var kind = RunHyper("vm", "run", "--kernel", dir.File("nope"), "--nic", "quantum:x");
        Assert.Equal(2, kind.Exit);
        Assert.Contains("'quantum' is not a switch type", kind.Error);
        var mac = RunHyper("vm", "run", "--kernel", dir.File("nope"), "--nic", "private:lan,mac=01-00-5E-00-00-01");
        Assert.Equal(2, mac.Exit);
        Assert.Contains("multicast", mac.Error);
        var tap = RunHyper("vm", "run", "--kernel", dir.File("nope"), "--backend", "emulated", "--nic", "internal:a/b");
        Assert.Equal(1, tap.Exit);
        Assert.Contains("not a valid Linux interface name", tap.Error);
    }

    [Fact]
    public void VsockGivesTheGuestASocketAndRefusesABadCidOrASocketInUse()
    {
        using var dir = new TempDir();
        var cid = RunHyper("vm", "run", "--kernel", dir.File("nope"), "--vsock", dir.File("v.sock"), "--vsock-cid", "2");
        Assert.Equal(2, cid.Exit);
        Assert.Contains("--vsock-cid 2: 3 to", cid.Error);

        string kernel = dir.File("hello.elf");
        File.WriteAllBytes(kernel, ElfBuilder.Wrap(Convert.FromHexString(HelloGuest), 0x100000));
        string socket = dir.File("v.sock");
        var run = RunHyper("vm", "run", "--kernel", kernel, "--backend", "emulated", "--vsock", socket);
        Assert.True(run.Exit == 0, run.Error);
        Assert.False(File.Exists(socket), "the VM's vsock socket is removed when it stops");

        using var other = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        other.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(socket));
        other.Listen(1); // another live VM's socket
        var busy = RunHyper("vm", "run", "--kernel", kernel, "--backend", "emulated", "--vsock", socket);
        Assert.Equal(1, busy.Exit);
        Assert.Contains("in use by another process", busy.Error);
    }
}
