using System.CommandLine;
using System.Runtime.InteropServices;
using HyperSharp.Machine;
using HyperSharp.Worker;

namespace HyperSharp.Cli.Vm;

/// <summary>
/// `hyper vm run`: runs one VM in the foreground (the embedded default, no host service), its serial
/// console on this terminal. Exit 0 when the guest powers off; a guest reset reboots it; 3 for a
/// triple fault, 1 for a host error. Ctrl-C asks the guest to shut down (ACPI power button), a
/// second Ctrl-C turns it off; Ctrl-] turns it off at once.
/// </summary>
internal static class RunCommand
{
    public const int TripleFault = 3;

    public static Command Create(CliContext context)
    {
        var kernel = new Option<string?>("--kernel") { Description = "Linux kernel: a bzImage as distributions ship it, or an ELF vmlinux (or --firmware bios)" };
        var firmware = new Option<string?>("--firmware") { Description = "bios: boot the disks through SeaBIOS (Debian's seabios package), like a Generation 1 VM, instead of --kernel" };
        var initrd = new Option<string?>("--initrd") { Description = "Initial ramdisk" };
        var disks = new Option<string[]>("--disk") { Description = "Disk image (VHDX, VHD or raw) attached as virtio-blk; repeat for more", AllowMultipleArgumentsPerToken = false };
        var cpus = new Option<int>("--cpus") { Description = "Virtual processors (1-240)", DefaultValueFactory = _ => 1 };
        var vendor = new Option<string?>("--cpu-vendor") { Description = "Processor vendor the guest sees: intel or amd (default: intel on the emulated backend, the host's on kvm)" };
        var memory = new Option<string>("--memory") { Description = "Guest memory, e.g. 512MB or 4GB", DefaultValueFactory = _ => "512MB" };
        var cmdline = new Option<string>("--cmdline") { Description = "Kernel command line", DefaultValueFactory = _ => "console=ttyS0" };
        var backend = Backend();
        var saveAfter = new Option<double?>("--save-after") { Description = "Pause the VM after this many seconds, save it to --state, and exit (Save-VM)" };
        var stateFile = new Option<string?>("--state") { Description = "Saved-state file for --save-after" };
        var nics = new Option<string[]>("--nic") { Description = EmbeddedNetwork.Help, AllowMultipleArgumentsPerToken = false };
        var vsock = new Option<string?>("--vsock") { Description = "Unix socket for virtio-vsock: host processes connect and write \"CONNECT <port>\\n\" to reach a guest port; the guest's connections to port P go to PATH_P" };
        var vsockCid = new Option<ulong>("--vsock-cid") { Description = "The guest's vsock context ID (3 or more)", DefaultValueFactory = _ => 3 };
        var command = new Command("run", "Run one VM in the foreground with its serial console on this terminal") { kernel, firmware, initrd, disks, cpus, vendor, memory, cmdline, backend, saveAfter, stateFile, nics, vsock, vsockCid };
        command.SetAction(result => CliAction.Run(context, () =>
        {
            int processors = result.GetValue(cpus);
            if (processors is < 1 or > 240) throw new UsageException($"--cpus {processors}: 1 to 240 are supported");
            HyperSharp.Hypervisor.ProcessorVendor? cpuVendor = null;
            if (result.GetValue(vendor) is string v)
                cpuVendor = HyperSharp.Hypervisor.ProcessorVendors.TryParse(v, out var parsed) ? parsed
                    : throw new UsageException($"--cpu-vendor {v}: intel or amd");
            long bytes = SizeParser.Parse(result.GetValue(memory)!, "--memory");
            if (bytes < 16 << 20) throw new UsageException($"--memory {result.GetValue(memory)}: at least 16MB");
            var boot = BootOption(result.GetValue(kernel), result.GetValue(firmware));
            using var network = new EmbeddedNetwork();
            var config = new VmConfig
            {
                KernelPath = boot.Kernel,
                Firmware = boot.Firmware,
                InitrdPath = result.GetValue(initrd) is string i ? Path.GetFullPath(i) : null,
                Disks = (result.GetValue(disks) ?? []).Select(d => new DiskAttachment(Path.GetFullPath(d))).ToList(),
                Processors = processors,
                ProcessorVendor = cpuVendor,
                MemorySize = (ulong)(bytes + 4095) / 4096 * 4096,
                CommandLine = result.GetValue(cmdline)!,
                NetworkAdapters = network.Parse(result.GetValue(nics) ?? []),
                Vsock = VsockOption(result.GetValue(vsock), result.GetValue(vsockCid)),
                Log = line => context.Error.WriteLine($"hyper: {line}"),
            };
            var save = SaveRequest(result.GetValue(saveAfter), result.GetValue(stateFile));
            var hypervisor = BackendChooser.Choose(result.GetValue(backend)!, context.Error);
            try { return Run(hypervisor, config, context, save, restoreFrom: null, network); }
            finally { (hypervisor as IDisposable)?.Dispose(); }
        }));
        return command;
    }

    /// <summary>What the VM boots: a kernel, or with --firmware bios its disks through SeaBIOS; exactly one of them.</summary>
    private static (string Kernel, HyperSharp.Machine.Firmware.VmFirmware? Firmware) BootOption(string? kernel, string? firmware) => (kernel, firmware?.ToLowerInvariant()) switch
    {
        (null, null) => throw new UsageException("give --kernel FILE, or --firmware bios to boot the disks"),
        (not null, not null) => throw new UsageException("--kernel and --firmware exclude each other: the firmware boots what the disks hold"),
        (not null, null) => (Path.GetFullPath(kernel), null),
        (null, "bios") => ("", new HyperSharp.Machine.Firmware.VmFirmware(HyperSharp.Machine.Firmware.VmFirmware.SeaBios)),
        _ => throw new UsageException($"--firmware {firmware}: bios is supported (UEFI comes later)"),
    };

    internal static Option<string> Backend() => new("--backend") { Description = "auto, kvm or emulated", DefaultValueFactory = _ => "auto" };

    private static VsockAttachment? VsockOption(string? path, ulong cid)
    {
        if (path is null) return null;
        if (cid is < 3 or >= uint.MaxValue) throw new UsageException($"--vsock-cid {cid}: 3 to {uint.MaxValue - 1} are allowed");
        return new VsockAttachment(Path.GetFullPath(path), cid);
    }

    internal static (TimeSpan After, string Path)? SaveRequest(double? seconds, string? path)
    {
        if (seconds is null && path is null) return null;
        if (seconds is not double s || s < 0) throw new UsageException("--save-after needs a number of seconds (0 or more)");
        if (string.IsNullOrEmpty(path)) throw new UsageException("--save-after needs --state FILE to save into");
        return (TimeSpan.FromSeconds(s), Path.GetFullPath(path));
    }

    /// <summary>Runs a VM (fresh from <paramref name="config"/>, or restored from a file) until it stops; a guest reset starts it again fresh.</summary>
    internal static int Run(HyperSharp.Hypervisor.IHypervisor hypervisor, VmConfig config, CliContext context, (TimeSpan After, string Path)? save, string? restoreFrom,
        EmbeddedNetwork network)
    {
        using var console = new SerialConsole();
        int interrupts = 0;
        MachineSession? running = null;
        // Ctrl-C asks the guest to shut down, a second one turns it off, whichever machine of the session runs then.
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, signal =>
        {
            signal.Cancel = true;
            if (running is not { } session) return;
            if (++interrupts == 1)
            {
                context.Error.WriteLine("\r\nhyper: asking the guest to shut down (Ctrl-C again to turn it off)");
                try { session.RequestShutdown(); } catch (InvalidOperationException) { }
            }
            else session.TurnOff();
        });
        running = new MachineSession(hypervisor, config with { ConsoleOutput = console.Output })
        {
            RestoreFrom = restoreFrom,
            Reconnect = network.Reconnect,
            MachineStarted = (vm, start) =>
            {
                if (start == MachineStart.RebootedAfterReset) context.Error.WriteLine("\r\nhyper: the guest reset; restarting it");
                interrupts = 0;
                console.PumpInput(vm.Console, () => running!.TurnOff());
                if (save is { } s) SaveLater(running!, s.After, s.Path, context);
            },
        };
        var end = running.Run();
        switch (end.Kind)
        {
            case SessionEndKind.PoweredOff:
                return 0;
            case SessionEndKind.Saved:
                context.Error.WriteLine($"\r\nhyper: saved the VM to {save?.Path}");
                return 0;
            case SessionEndKind.TurnedOff:
                context.Error.WriteLine("\r\nhyper: the VM was turned off");
                return 0;
            case SessionEndKind.Crashed when end.Stop == VmStopReason.TripleFault:
                context.Error.WriteLine($"\r\nhyper: {end.Reason}");
                return TripleFault;
            default:
                context.Error.WriteLine($"\r\nhyper: {end.Reason}");
                return CliAction.Failed;
        }
    }

    /// <summary>--save-after: saves the machine once it has run that long; a save that fails leaves the VM running.</summary>
    private static void SaveLater(MachineSession session, TimeSpan after, string path, CliContext context)
    {
        var saver = new Thread(() =>
        {
            Thread.Sleep(after);
            try { session.Save(path); }
            catch (Exception e) when (e is IOException or InvalidOperationException or TimeoutException or HyperSharp.Hypervisor.HypervisorException)
            {
                context.Error.WriteLine($"\r\nhyper: saving failed: {e.Message}");
            }
        }) { IsBackground = true, Name = "save-vm" };
        saver.Start();
    }
}
