using System.Text;
using HyperSharp.Hypervisor;
using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Hypervisor.Kvm;
using HyperSharp.Machine.Boot;
using HyperSharp.Machine.State;

namespace HyperSharp.Machine.Tests.State;

/// <summary>
/// A freestanding guest that prints ebx = 1..0x800 as eight hex digits per line on COM1, a busy wait between lines,
/// then powers off: a save anywhere in the count must continue after a restore with no line lost or repeated.
/// </summary>
internal static class CounterGuest
{
    private const string Code = "BB00000000FFC3B90800000089DE66BAF803C1C60489F0250F00000005300000003D3900000076050507000000EEFFC975E0B00AEEB964000000FFC975FC81FB0008000075BF66BA040666B8003466EFF4";

    public const int Lines = 0x800;

    /// <summary>The guest as an ELF; the software processor gets a 1000x longer busy wait so a save falls inside the count.</summary>
    public static byte[] Elf(bool slow) => Elf(slow ? 100_000 : 100);

    /// <summary>The guest with a busy wait of <paramref name="waitIterations"/> loop turns between lines.</summary>
    public static byte[] Elf(int waitIterations) =>
        ElfBuilder.Wrap(Convert.FromHexString(Code.Replace("B964000000", "B9" + Convert.ToHexString(BitConverter.GetBytes(waitIterations)))), 0x100000);

    /// <summary>The count as the guest prints it, from line <paramref name="first"/> to the end.</summary>
    public static string Expected(int first = 1)
    {
        var text = new StringBuilder();
        for (int i = first; i <= Lines; i++) text.Append(i.ToString("X8")).Append('\n');
        return text.ToString();
    }

    public static IHypervisor Hypervisor(string name) => name == "kvm" ? new KvmHypervisor() : new EmulatedHypervisor();

    /// <summary>KVM usable here, or why not.</summary>
    public static bool KvmUsable(out string why)
    {
        using var kvm = new KvmHypervisor();
        why = kvm.Availability.Reason ?? "";
        return kvm.Availability.IsAvailable;
    }

    /// <summary>
    /// Boots the counter on <paramref name="backend"/>, waits until it printed <paramref name="linesBeforeSave"/> lines,
    /// saves it to <paramref name="state"/> and turns it off; returns what the console showed before the save.
    /// </summary>
    public static string SaveMidway(string backend, string dir, string state, int linesBeforeSave, Action<string> log)
    {
        string kernel = Path.Combine(dir, "counter.elf");
        File.WriteAllBytes(kernel, Elf(slow: backend != "kvm"));
        var console = new Console();
        var config = new VmConfig { KernelPath = kernel, MemorySize = 16 << 20, ConsoleOutput = console.Add, Log = log };
        var hypervisor = Hypervisor(backend);
        using var owned = hypervisor as IDisposable;
        using var vm = new VirtualMachineBuilder(hypervisor, config).Build();
        var run = Task.Run(vm.Run);
        if (!console.WaitForLines(linesBeforeSave, run))
            throw new InvalidOperationException($"the counter guest did not print {linesBeforeSave} lines; console: {console.Text}; run: {(run.IsCompleted ? run.Result : "running")}");
        vm.Pause();
        string before = console.Text;
        vm.Save(state, SavedVmConfig.From(config), hypervisor.Name);
        vm.Stop();
        run.Wait();
        return before;
    }

    /// <summary>Restores <paramref name="state"/> on <paramref name="backend"/> and runs it to the end: how it stopped and what it printed.</summary>
    public static (VmStopped Stopped, string Console) RestoreAndRun(string backend, string state, Action<string> log)
    {
        var console = new Console();
        var hypervisor = Hypervisor(backend);
        using var owned = hypervisor as IDisposable;
        using var vm = VirtualMachineBuilder.Restore(hypervisor, state, console.Add, log);
        var run = Task.Run(vm.Run);
        // A safety net only: the count ends in seconds; if it does not, the console says where it stuck.
        if (!run.Wait(TimeSpan.FromMinutes(5))) { vm.Stop(); run.Wait(); throw new TimeoutException($"the restored guest did not finish; console: {console.Text}"); }
        return (run.Result, console.Text);
    }

    /// <summary>Collects the guest's console and says when a number of lines arrived.</summary>
    private sealed class Console
    {
        private readonly StringBuilder _text = new();
        private readonly SemaphoreSlim _line = new(0);

        public string Text { get { lock (_text) return _text.ToString(); } }

        public void Add(byte b)
        {
            lock (_text) _text.Append((char)b);
            if (b == '\n') _line.Release();
        }

        /// <summary>True once <paramref name="lines"/> lines arrived; false if the guest stopped first (or, as a safety net, after 5 minutes).</summary>
        public bool WaitForLines(int lines, Task<VmStopped> run)
        {
            long deadline = Environment.TickCount64 + 300_000;
            for (int seen = 0; seen < lines; seen++)
                while (!_line.Wait(TimeSpan.FromSeconds(1)))
                    if (run.IsCompleted || Environment.TickCount64 > deadline) return false;
            return true;
        }
    }
}
