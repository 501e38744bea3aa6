using System.CommandLine;
using HyperSharp.Api.V1;
using VmInfo = HyperSharp.Api.V1.Vm;

namespace HyperSharp.Cli.Host;

/// <summary>
/// `hyper vm list|new|show|set|start|stop|save|pause|resume|restart|remove|rename` through the host
/// service: each a thin wrapper over one VmHost call, text for people and --json for scripts.
/// </summary>
internal static class ManagedVmCommands
{
    public static IEnumerable<Command> Create(CliContext context)
    {
        yield return List(context);
        yield return New(context);
        yield return Set(context);
        yield return Stop(context);
        yield return Remove(context);
        yield return Rename(context);
        yield return OnVm(context, "show", "Show one VM (Get-VM NAME)", (c, r) => c.GetVmAsync(r).ResponseAsync);
        yield return OnVm(context, "start", "Start a VM (from Saved: continue where it was saved)", (c, r) => c.StartVmAsync(r).ResponseAsync);
        yield return OnVm(context, "save", "Save a running VM's state and stop it (Save-VM)", (c, r) => c.SaveVmAsync(r).ResponseAsync);
        yield return OnVm(context, "pause", "Pause a running VM (Suspend-VM)", (c, r) => c.SuspendVmAsync(r).ResponseAsync);
        yield return OnVm(context, "resume", "Resume a paused VM (Resume-VM)", (c, r) => c.ResumeVmAsync(r).ResponseAsync);
        yield return OnVm(context, "restart", "Reset a running VM (Restart-VM)", (c, r) => c.RestartVmAsync(new RestartVmRequest { Vm = r, Force = true }).ResponseAsync);
    }

    internal static Argument<string> NameArgument() => new("name") { Description = "The VM's name or id" };

    private static Command OnVm(CliContext context, string verb, string description, Func<VmHost.VmHostClient, VmRef, Task<VmInfo>> call)
    {
        var name = NameArgument();
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command(verb, description) { name, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var vm = await call(client, HostClient.Ref(result.GetValue(name)!)).ConfigureAwait(false);
            Print(context, vm, result.GetValue(json), verb == "show");
            return 0;
        }));
        return command;
    }

    private static void Print(CliContext context, VmInfo vm, bool json, bool details)
    {
        if (json) context.Out.WriteLine(HostClient.ToJson(vm));
        else if (details) VmPrinter.Details(context.Out, vm);
        else context.Out.WriteLine($"{vm.Name}: {vm.State}");
    }

    private static Command List(CliContext context)
    {
        var filter = new Argument<string?>("name") { Description = "Only VMs whose name matches (* and ? wildcards)", Arity = ArgumentArity.ZeroOrOne };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("list", "List the host's VMs (Get-VM)") { filter, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var response = await client.ListVmsAsync(new ListVmsRequest { Name = result.GetValue(filter) ?? "" }).ResponseAsync.ConfigureAwait(false);
            if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(response));
            else VmPrinter.Table(context.Out, response.Vms);
            return 0;
        }));
        return command;
    }

    private static Command New(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "The new VM's name (unique on the host)" };
        var kernel = new Option<string?>("--kernel") { Description = "Linux kernel to boot (bzImage or ELF vmlinux)" };
        var initrd = new Option<string?>("--initrd") { Description = "Initial ramdisk" };
        var cmdline = new Option<string?>("--cmdline") { Description = "Kernel command line (default console=ttyS0)" };
        var cpus = new Option<int?>("--cpus") { Description = "Virtual processors (1-240; default 1)" };
        var memory = new Option<string?>("--memory") { Description = "Startup memory, e.g. 512MB (default 512MB)" };
        var generation = new Option<int>("--generation") { Description = "1 or 2 (default 2)" };
        var firmware = new Option<string?>("--firmware") { Description = "bios (Generation 1: SeaBIOS boots the VM's disks; the default for Generation 1 without --kernel) or none (boot --kernel)" };
        var vhd = new Option<string?>("--vhd") { Description = "An existing disk attached as the first drive" };
        var newVhd = new Option<string?>("--new-vhd") { Description = "Create a dynamic VHDX here and attach it (with --new-vhd-size)" };
        var newVhdSize = new Option<string?>("--new-vhd-size") { Description = "Size of --new-vhd, e.g. 20GB" };
        var path = new Option<string?>("--path") { Description = "Put the VM's folder here instead of the host's inventory" };
        var backend = new Option<string?>("--backend") { Description = "auto, kvm or emulated (default auto)" };
        var notes = new Option<string?>("--notes") { Description = "Free text kept with the VM" };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("new", "Create a VM on the host (New-VM)") { name, kernel, initrd, cmdline, cpus, memory, generation, firmware, vhd, newVhd, newVhdSize, path, backend, notes, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var request = new CreateVmRequest
            {
                Name = result.GetValue(name)!,
                Generation = result.GetValue(generation),
                Boot = new BootSource { KernelPath = FullPath(result.GetValue(kernel)), InitrdPath = FullPath(result.GetValue(initrd)), KernelCommandLine = result.GetValue(cmdline) ?? "", Firmware = result.GetValue(firmware) ?? "" },
                VhdPath = FullPath(result.GetValue(vhd)),
                NewVhdPath = FullPath(result.GetValue(newVhd)),
                NewVhdSizeBytes = result.GetValue(newVhdSize) is string s ? SizeParser.Parse(s, "--new-vhd-size") : 0,
                Path = FullPath(result.GetValue(path)),
                Backend = result.GetValue(backend) ?? "",
                Notes = result.GetValue(notes) ?? "",
            };
            // Only what was given is sent: the host applies its defaults to the rest and refuses 0 like any value out of range.
            if (result.GetValue(cpus) is int c) request.ProcessorCount = c;
            if (result.GetValue(memory) is string m) request.MemoryStartupBytes = SizeParser.Parse(m, "--memory");
            var vm = await client.CreateVmAsync(request).ResponseAsync.ConfigureAwait(false);
            if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(vm));
            else context.Out.WriteLine($"{vm.Name}: created ({vm.Id})");
            return 0;
        }));
        return command;
    }

    /// <summary>The host resolves paths in its own working directory: send absolute ones.</summary>
    internal static string FullPath(string? path) => string.IsNullOrEmpty(path) ? "" : Path.GetFullPath(path);

    private static Command Set(CliContext context)
    {
        var name = NameArgument();
        var cpus = new Option<int?>("--cpus") { Description = "Virtual processors (VM off)" };
        var memory = new Option<string?>("--memory") { Description = "Startup memory (VM off)" };
        var kernel = new Option<string?>("--kernel") { Description = "Kernel to boot (VM off)" };
        var initrd = new Option<string?>("--initrd") { Description = "Initial ramdisk (VM off)" };
        var cmdline = new Option<string?>("--cmdline") { Description = "Kernel command line (VM off)" };
        var backend = new Option<string?>("--backend") { Description = "auto, kvm or emulated (VM off)" };
        var notes = new Option<string?>("--notes") { Description = "Free text kept with the VM" };
        var startAction = new Option<AutomaticStartAction?>("--automatic-start-action") { Description = "Nothing, StartIfRunning or Start" };
        var startDelay = new Option<int?>("--automatic-start-delay") { Description = "Seconds to wait before the automatic start" };
        var stopAction = new Option<AutomaticStopAction?>("--automatic-stop-action") { Description = "TurnOff, Save or ShutDown" };
        var checkpoint = new Option<CheckpointType?>("--checkpoint-type") { Description = "Disabled, Production, ProductionOnly or Standard" };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("set", "Change a VM's settings (Set-VM)") { name, cpus, memory, kernel, initrd, cmdline, backend, notes, startAction, startDelay, stopAction, checkpoint, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var request = new UpdateVmRequest { Vm = HostClient.Ref(result.GetValue(name)!) };
            if (result.GetValue(cpus) is int c) request.ProcessorCount = c;
            if (result.GetValue(memory) is string m) request.MemoryStartupBytes = SizeParser.Parse(m, "--memory");
            if (result.GetValue(kernel) is string k) request.KernelPath = FullPath(k);
            if (result.GetValue(initrd) is string i) request.InitrdPath = FullPath(i);
            if (result.GetValue(cmdline) is string l) request.KernelCommandLine = l;
            if (result.GetValue(backend) is string b) request.Backend = b;
            if (result.GetValue(notes) is string n) request.Notes = n;
            if (result.GetValue(startAction) is AutomaticStartAction sa) request.AutomaticStartAction = sa;
            if (result.GetValue(startDelay) is int sd) request.AutomaticStartDelaySeconds = sd;
            if (result.GetValue(stopAction) is AutomaticStopAction so) request.AutomaticStopAction = so;
            if (result.GetValue(checkpoint) is CheckpointType ct) request.CheckpointType = ct;
            var vm = await client.UpdateVmAsync(request).ResponseAsync.ConfigureAwait(false);
            HostClient.Warn(context, vm.Warnings);
            Print(context, vm, result.GetValue(json), details: true);
            return 0;
        }));
        return command;
    }

    private static Command Stop(CliContext context)
    {
        var name = NameArgument();
        var turnOff = new Option<bool>("--turn-off") { Description = "Cut the power at once (no guest shutdown)" };
        var force = new Option<bool>("--force") { Description = "Turn off if the guest has not shut down after the wait" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for the guest to shut down (default 60)" };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("stop", "Shut a VM down through its guest agent, else ACPI (Stop-VM)") { name, turnOff, force, timeout, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var vm = await client.StopVmAsync(new StopVmRequest
            {
                Vm = HostClient.Ref(result.GetValue(name)!), TurnOff = result.GetValue(turnOff), Force = result.GetValue(force), TimeoutSeconds = result.GetValue(timeout),
            }).ResponseAsync.ConfigureAwait(false);
            Print(context, vm, result.GetValue(json), details: false);
            return 0;
        }));
        return command;
    }

    private static Command Remove(CliContext context)
    {
        var name = NameArgument();
        var force = new Option<bool>("--force") { Description = "Turn a running VM off first" };
        var socket = HostClient.SocketOption();
        var command = new Command("remove", "Remove a VM from the host; its disks stay (Remove-VM)") { name, force, socket };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            await client.RemoveVmAsync(new RemoveVmRequest { Vm = HostClient.Ref(result.GetValue(name)!), Force = result.GetValue(force) }).ResponseAsync.ConfigureAwait(false);
            context.Out.WriteLine($"{result.GetValue(name)}: removed");
            return 0;
        }));
        return command;
    }

    private static Command Rename(CliContext context)
    {
        var name = NameArgument();
        var newName = new Argument<string>("new-name") { Description = "The VM's new name" };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("rename", "Rename a VM (Rename-VM)") { name, newName, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var vm = await client.UpdateVmAsync(new UpdateVmRequest { Vm = HostClient.Ref(result.GetValue(name)!), NewName = result.GetValue(newName)! }).ResponseAsync.ConfigureAwait(false);
            Print(context, vm, result.GetValue(json), details: false);
            return 0;
        }));
        return command;
    }
}
