using System.CommandLine;
using HyperSharp.Api.V1;

namespace HyperSharp.Cli.Host;

/// <summary>
/// `hyper vm move NAME --to HOST` (Move-VM with shared storage): the running VM goes to another host over mutual TLS, its files
/// stay; with --check, only what would stop the move is printed (Compare-VM), and the exit code is 1 when something would.
/// </summary>
internal static class MoveCommand
{
    public static Command Create(CliContext context)
    {
        var name = ManagedVmCommands.NameArgument();
        var to = new Option<string>("--to") { Description = "The destination host: NAME, NAME:PORT (default port 7443) or https://NAME:PORT", Required = true };
        var check = new Option<bool>("--check") { Description = "Only say what would stop the move (Compare-VM); nothing moves" };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("move", "Move a running VM to another host, its files staying on shared storage (Move-VM)") { name, to, check, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var request = new MoveVmRequest { Vm = HostClient.Ref(result.GetValue(name)!), DestinationHost = result.GetValue(to)! };
            if (result.GetValue(check))
            {
                var compared = await client.LiveMigration.CompareVmAsync(request).ResponseAsync.ConfigureAwait(false);
                if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(compared));
                else if (compared.Incompatibilities.Count == 0) context.Out.WriteLine($"{request.Vm.Name}{request.Vm.Id} can move to {request.DestinationHost}");
                else foreach (var problem in compared.Incompatibilities) context.Out.WriteLine(problem);
                return compared.Incompatibilities.Count == 0 ? 0 : 1;
            }
            var moved = await client.LiveMigration.MoveVmAsync(request).ResponseAsync.ConfigureAwait(false);
            if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(moved));
            else context.Out.WriteLine($"{moved.Vm.Name} runs on {moved.DestinationHost} now: moved in {moved.TotalMs:0} ms, paused {moved.DowntimeMs:0.0} ms ({moved.Summary})");
            return 0;
        }));
        return command;
    }
}
