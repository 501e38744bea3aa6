using System.CommandLine;
using HyperSharp.Api.V1;

namespace HyperSharp.Cli.Host;

/// <summary>
/// The integration services from the command line: `hyper vm integration NAME [enable|disable SERVICE]`
/// (Get-/Enable-/Disable-VMIntegrationService) and `hyper vm copy-file NAME SOURCE DESTINATION` (Copy-VMFile).
/// </summary>
internal static class IntegrationCommands
{
    public static Command Integration(CliContext context)
    {
        var name = ManagedVmCommands.NameArgument();
        var action = new Argument<string?>("action") { Description = "enable or disable (none: list the services)", Arity = ArgumentArity.ZeroOrOne };
        var service = new Argument<string?>("service") { Description = "The service: Heartbeat, Shutdown, \"Time Synchronization\", \"Key-Value Pair Exchange\", VSS, \"Guest Service Interface\"", Arity = ArgumentArity.ZeroOrOne };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("integration", "List a VM's integration services, or enable or disable one (Get-/Enable-/Disable-VMIntegrationService)")
            { name, action, service, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var vm = HostClient.Ref(result.GetValue(name)!);
            string? verb = result.GetValue(action);
            if (verb is null)
            {
                var list = await client.GuestIntegration.ListIntegrationServicesAsync(new ListIntegrationServicesRequest { Vm = vm }).ResponseAsync.ConfigureAwait(false);
                if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(list));
                else Print(context.Out, list.Services);
                return 0;
            }
            bool enable = verb switch
            {
                "enable" => true,
                "disable" => false,
                _ => throw new UsageException($"'{verb}': the action is enable or disable"),
            };
            string what = result.GetValue(service) ?? throw new UsageException($"{verb} needs the service's name, e.g. hyper vm integration NAME {verb} \"Guest Service Interface\"");
            var changed = await client.GuestIntegration.SetIntegrationServiceAsync(new SetIntegrationServiceRequest { Vm = vm, Name = what, Enabled = enable }).ResponseAsync.ConfigureAwait(false);
            if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(changed));
            else Print(context.Out, [changed]);
            return 0;
        }));
        return command;
    }

    public static Command CopyFile(CliContext context)
    {
        var name = ManagedVmCommands.NameArgument();
        var source = new Argument<string>("source") { Description = "The file on this machine" };
        var destination = new Argument<string>("destination") { Description = "Where it goes in the guest: an absolute path" };
        var createFullPath = new Option<bool>("--create-full-path") { Description = "Make the destination's missing folders" };
        var force = new Option<bool>("--force") { Description = "Replace a file already there" };
        var socket = HostClient.SocketOption();
        var command = new Command("copy-file", "Copy a file into a running VM through its guest agent; needs the Guest Service Interface service (Copy-VMFile)")
            { name, source, destination, createFullPath, force, socket };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var request = new CopyVmFileRequest
            {
                Vm = HostClient.Ref(result.GetValue(name)!), SourcePath = Path.GetFullPath(result.GetValue(source)!), DestinationPath = result.GetValue(destination)!,
                CreateFullPath = result.GetValue(createFullPath), Force = result.GetValue(force),
            };
            var copied = await client.GuestIntegration.CopyVmFileAsync(request).ResponseAsync.ConfigureAwait(false);
            context.Out.WriteLine($"copied {copied.Bytes} bytes to {request.DestinationPath}");
            return 0;
        }));
        return command;
    }

    private static void Print(TextWriter o, IEnumerable<IntegrationService> services)
    {
        o.WriteLine($"{"VMName",-16} {"Name",-24} {"Enabled",-7} {"PrimaryStatusDescription",-24} SecondaryStatusDescription");
        o.WriteLine($"{"------",-16} {"----",-24} {"-------",-7} {"------------------------",-24} --------------------------");
        foreach (var s in services)
            o.WriteLine($"{s.VmName,-16} {s.Name,-24} {(s.Enabled ? "True" : "False"),-7} {s.PrimaryStatusDescription,-24} {s.SecondaryStatusDescription}");
    }
}
