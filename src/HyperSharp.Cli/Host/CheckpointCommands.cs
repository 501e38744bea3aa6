using System.CommandLine;
using HyperSharp.Api.V1;

namespace HyperSharp.Cli.Host;

/// <summary>
/// `hyper vm checkpoint NAME [--name C]` (Checkpoint-VM) and `hyper vm checkpoint list|restore|remove|rename`
/// (Get-, Restore-, Remove-, Rename-VMSnapshot): each one VmHost call, text for people and --json for scripts.
/// </summary>
internal static class CheckpointCommands
{
    public static Command Create(CliContext context)
    {
        var vm = ManagedVmCommands.NameArgument();
        var name = new Option<string?>("--name") { Description = "The checkpoint's name (default: \"VMNAME - (M/d/yyyy - h:mm:ss tt)\", as Hyper-V names it)" };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("checkpoint", "Take a checkpoint of a VM (Checkpoint-VM), or list, restore, remove or rename its checkpoints") { vm, name, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var taken = await client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = HostClient.Ref(result.GetValue(vm)!), Name = result.GetValue(name) ?? "" })
                .ResponseAsync.ConfigureAwait(false);
            HostClient.Warn(context, taken.Warnings);
            if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(taken));
            else context.Out.WriteLine($"{taken.VmName}: checkpoint '{taken.Name}' taken{(taken.HasSavedState ? $" (the guest was paused {taken.PauseMs:0} ms)" : "")}");
            return 0;
        }));
        command.Subcommands.Add(List(context));
        command.Subcommands.Add(Restore(context));
        command.Subcommands.Add(Remove(context));
        command.Subcommands.Add(Rename(context));
        return command;
    }

    private static Argument<string> CheckpointArgument() => new("checkpoint") { Description = "The checkpoint's name or id" };

    private static CheckpointRef Ref(string vm, string checkpoint) => Guid.TryParse(checkpoint, out _)
        ? new CheckpointRef { Vm = HostClient.Ref(vm), Id = checkpoint } : new CheckpointRef { Vm = HostClient.Ref(vm), Name = checkpoint };

    private static Command List(CliContext context)
    {
        var vm = ManagedVmCommands.NameArgument();
        var filter = new Option<string?>("--name") { Description = "Only checkpoints whose name matches (* and ? wildcards)" };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("list", "List a VM's checkpoints, oldest first (Get-VMSnapshot)") { vm, filter, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var response = await client.Checkpoints.ListCheckpointsAsync(new ListCheckpointsRequest { Vm = HostClient.Ref(result.GetValue(vm)!), Name = result.GetValue(filter) ?? "" })
                .ResponseAsync.ConfigureAwait(false);
            if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(response));
            else Table(context.Out, response.Checkpoints);
            return 0;
        }));
        return command;
    }

    private static Command Restore(CliContext context)
    {
        var (vm, checkpoint) = (ManagedVmCommands.NameArgument(), CheckpointArgument());
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("restore", "Go back to a checkpoint: the VM's current state is discarded (Restore-VMSnapshot)") { vm, checkpoint, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var restored = await client.Checkpoints.RestoreCheckpointAsync(Ref(result.GetValue(vm)!, result.GetValue(checkpoint)!)).ResponseAsync.ConfigureAwait(false);
            HostClient.Warn(context, restored.Warnings);
            if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(restored));
            else context.Out.WriteLine($"{restored.Name}: {restored.State}, at checkpoint '{result.GetValue(checkpoint)}'");
            return 0;
        }));
        return command;
    }

    private static Command Remove(CliContext context)
    {
        var (vm, checkpoint) = (ManagedVmCommands.NameArgument(), CheckpointArgument());
        var children = new Option<bool>("--include-children") { Description = "Remove the checkpoints below it too (-IncludeAllChildSnapshots)" };
        var socket = HostClient.SocketOption();
        var command = new Command("remove", "Remove a checkpoint; its disks are merged into the one that still needs them (Remove-VMSnapshot)") { vm, checkpoint, children, socket };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var removed = await client.Checkpoints.RemoveCheckpointAsync(new RemoveCheckpointRequest
            {
                Checkpoint = Ref(result.GetValue(vm)!, result.GetValue(checkpoint)!), IncludeChildren = result.GetValue(children),
            }).ResponseAsync.ConfigureAwait(false);
            HostClient.Warn(context, removed.Warnings);
            context.Out.WriteLine($"checkpoint '{result.GetValue(checkpoint)}' removed");
            return 0;
        }));
        return command;
    }

    private static Command Rename(CliContext context)
    {
        var (vm, checkpoint) = (ManagedVmCommands.NameArgument(), CheckpointArgument());
        var newName = new Argument<string>("new-name") { Description = "The checkpoint's new name" };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("rename", "Rename a checkpoint (Rename-VMSnapshot)") { vm, checkpoint, newName, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var renamed = await client.Checkpoints.RenameCheckpointAsync(new RenameCheckpointRequest
            {
                Checkpoint = Ref(result.GetValue(vm)!, result.GetValue(checkpoint)!), NewName = result.GetValue(newName)!,
            }).ResponseAsync.ConfigureAwait(false);
            if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(renamed));
            else context.Out.WriteLine($"checkpoint '{result.GetValue(checkpoint)}' is now '{renamed.Name}'");
            return 0;
        }));
        return command;
    }

    private static void Table(TextWriter o, IEnumerable<VmCheckpoint> checkpoints)
    {
        o.WriteLine($"{"Name",-40} {"Type",-9} {"Parent",-30} {"Created (UTC)",-20} Current");
        o.WriteLine($"{"----",-40} {"----",-9} {"------",-30} {"-------------",-20} -------");
        foreach (var c in checkpoints)
            o.WriteLine($"{c.Name,-40} {c.Kind,-9} {c.ParentName,-30} {DateTimeOffset.FromUnixTimeMilliseconds(c.CreationTimeUnixMs).UtcDateTime,-20:yyyy-MM-dd HH:mm:ss} {(c.IsCurrent ? "yes" : "")}");
    }
}
