using System.CommandLine;
using HyperSharp.Api.V1;

namespace HyperSharp.Cli.Host;

/// <summary>`hyper switch list|new|show|set|remove`: New-/Get-/Set-/Rename-/Remove-VMSwitch through the host service.</summary>
internal static class SwitchCommands
{
    public static Command Create(CliContext context)
    {
        var command = new Command("switch", "The host's virtual switches (Private, Internal, External), kept across host restarts");
        command.Subcommands.Add(List(context));
        command.Subcommands.Add(New(context));
        command.Subcommands.Add(Show(context));
        command.Subcommands.Add(Set(context));
        command.Subcommands.Add(Remove(context));
        return command;
    }

    private static Argument<string> NameArgument() => new("name") { Description = "The switch's name or id" };

    private static SwitchRef Ref(string nameOrId) => Guid.TryParse(nameOrId, out _) ? new SwitchRef { Id = nameOrId } : new SwitchRef { Name = nameOrId };

    private static Command List(CliContext context)
    {
        var filter = new Argument<string?>("name") { Description = "Only switches whose name matches (* and ? wildcards)", Arity = ArgumentArity.ZeroOrOne };
        var type = new Option<string?>("--type") { Description = "Only switches of this type: private, internal or external" };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("list", "List the host's switches (Get-VMSwitch)") { filter, type, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var request = new ListSwitchesRequest { Name = result.GetValue(filter) ?? "", SwitchType = TypeOf(result.GetValue(type)) };
            var response = await client.Networking.ListSwitchesAsync(request).ResponseAsync.ConfigureAwait(false);
            if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(response));
            else NetworkPrinter.Switches(context.Out, response.Switches);
            return 0;
        }));
        return command;
    }

    private static Command New(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "The new switch's name (unique on the host)" };
        var type = new Option<string?>("--type") { Description = "private (VMs only; the default), internal (VMs and the host, through a TAP) or external (bridged)" };
        var adapter = new Option<string?>("--net-adapter") { Description = "External: the host network interface to bridge to" };
        var tap = new Option<string?>("--host-interface") { Description = "Internal: the TAP interface's name (default: hs- and the switch name)" };
        var notes = new Option<string?>("--notes") { Description = "Free text kept with the switch" };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("new", "Create a switch (New-VMSwitch)") { name, type, adapter, tap, notes, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var created = await client.Networking.CreateSwitchAsync(new CreateSwitchRequest
            {
                Name = result.GetValue(name)!, SwitchType = TypeOf(result.GetValue(type)), NetAdapterName = result.GetValue(adapter) ?? "",
                HostInterfaceName = result.GetValue(tap) ?? "", Notes = result.GetValue(notes) ?? "",
            }).ResponseAsync.ConfigureAwait(false);
            Print(context, created, result.GetValue(json), $"{created.Name}: created ({NetworkPrinter.TypeName(created.SwitchType)})");
            return 0;
        }));
        return command;
    }

    private static Command Show(CliContext context)
    {
        var name = NameArgument();
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("show", "Show one switch (Get-VMSwitch NAME)") { name, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var found = await client.Networking.GetSwitchAsync(Ref(result.GetValue(name)!)).ResponseAsync.ConfigureAwait(false);
            if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(found));
            else NetworkPrinter.SwitchDetails(context.Out, found);
            return 0;
        }));
        return command;
    }

    private static Command Set(CliContext context)
    {
        var name = NameArgument();
        var newName = new Option<string?>("--new-name") { Description = "Rename the switch (Rename-VMSwitch); its TAP keeps its name" };
        var notes = new Option<string?>("--notes") { Description = "Free text kept with the switch" };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("set", "Change a switch (Set-VMSwitch)") { name, newName, notes, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var request = new UpdateSwitchRequest { Switch = Ref(result.GetValue(name)!) };
            if (result.GetValue(newName) is string n) request.NewName = n;
            if (result.GetValue(notes) is string text) request.Notes = text;
            var updated = await client.Networking.UpdateSwitchAsync(request).ResponseAsync.ConfigureAwait(false);
            Print(context, updated, result.GetValue(json), $"{updated.Name}: updated");
            return 0;
        }));
        return command;
    }

    private static Command Remove(CliContext context)
    {
        var name = NameArgument();
        var socket = HostClient.SocketOption();
        var command = new Command("remove", "Remove a switch; adapters on it stay on their VMs, disconnected (Remove-VMSwitch)") { name, socket };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            await client.Networking.RemoveSwitchAsync(new RemoveSwitchRequest { Switch = Ref(result.GetValue(name)!) }).ResponseAsync.ConfigureAwait(false);
            context.Out.WriteLine($"{result.GetValue(name)}: removed");
            return 0;
        }));
        return command;
    }

    private static void Print(CliContext context, VmSwitch s, bool json, string line) =>
        context.Out.WriteLine(json ? HostClient.ToJson(s) : line);

    private static SwitchType TypeOf(string? text) => text?.ToLowerInvariant() switch
    {
        null or "" => SwitchType.Unspecified,
        "private" => SwitchType.Private,
        "internal" => SwitchType.Internal,
        "external" => SwitchType.External,
        _ => throw new UsageException($"--type {text}: private, internal or external"),
    };
}
