using System.CommandLine;
using HyperSharp.Api.V1;

namespace HyperSharp.Cli.Host;

/// <summary>`hyper vm scsi add|list|remove`: Add-/Get-/Remove-VMScsiController (up to 4 per VM, changed while it is off).</summary>
internal static class ScsiCommands
{
    public static Command Create(CliContext context)
    {
        var scsi = new Command("scsi", "A VM's SCSI controllers");
        scsi.Subcommands.Add(Add(context));
        scsi.Subcommands.Add(List(context));
        scsi.Subcommands.Add(Remove(context));
        return scsi;
    }

    private static Command Add(CliContext context)
    {
        var name = ManagedVmCommands.NameArgument();
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("add", "Add a SCSI controller to a VM that is off (Add-VMScsiController)") { name, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var controller = await client.ScsiControllers.AddScsiControllerAsync(HostClient.Ref(result.GetValue(name)!)).ResponseAsync.ConfigureAwait(false);
            if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(controller));
            else context.Out.WriteLine($"{controller.VmName}: SCSI controller {controller.ControllerNumber} added");
            return 0;
        }));
        return command;
    }

    private static Command List(CliContext context)
    {
        var name = ManagedVmCommands.NameArgument();
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("list", "A VM's SCSI controllers and their drives (Get-VMScsiController)") { name, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var response = await client.ScsiControllers.ListScsiControllersAsync(HostClient.Ref(result.GetValue(name)!)).ResponseAsync.ConfigureAwait(false);
            if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(response));
            else
                foreach (var c in response.Controllers)
                    context.Out.WriteLine($"SCSI controller {c.ControllerNumber}: {(c.Drives.Count == 0 ? "no drives" : string.Join(", ", c.Drives.Select(d => $"{d.ControllerLocation}={d.Path}")))}");
            return 0;
        }));
        return command;
    }

    private static Command Remove(CliContext context)
    {
        var name = ManagedVmCommands.NameArgument();
        var number = new Argument<int>("number") { Description = "The controller's number; those after it take the numbers one lower" };
        var socket = HostClient.SocketOption();
        var command = new Command("remove", "Remove an empty SCSI controller from a VM that is off (Remove-VMScsiController)") { name, number, socket };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            await client.ScsiControllers.RemoveScsiControllerAsync(new RemoveScsiControllerRequest { Vm = HostClient.Ref(result.GetValue(name)!), ControllerNumber = result.GetValue(number) })
                .ResponseAsync.ConfigureAwait(false);
            context.Out.WriteLine($"{result.GetValue(name)}: SCSI controller {result.GetValue(number)} removed");
            return 0;
        }));
        return command;
    }
}
