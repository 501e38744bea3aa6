using System.CommandLine;
using System.Runtime.InteropServices;
using HyperSharp.Api;
using HyperSharp.Host;

namespace HyperSharp.Cli.Host;

/// <summary>
/// `hyper host`: runs the host service in the foreground until SIGTERM or Ctrl-C; then every running VM
/// gets its automatic stop action (save by default) before the service exits. Killed outright, the host
/// leaves its VMs running: the next `hyper host` takes them back.
/// </summary>
internal static class HostCommand
{
    public const string DefaultRoot = "/var/lib/hypersharp";

    public static Command Create(CliContext context)
    {
        var root = new Option<string>("--root") { Description = $"The inventory root (default {DefaultRoot})", DefaultValueFactory = _ => DefaultRoot };
        var socket = new Option<string?>("--socket") { Description = $"The API socket (default ${HostEndpoint.SocketEnvironmentVariable} or {HostEndpoint.DefaultSocketPath})" };
        var command = new Command("host", "Run the host service (VM management) in the foreground") { root, socket };
        command.SetAction(result => CliAction.Run(context, () =>
        {
            var log = context.Error;
            var options = new HostServerOptions
            {
                InventoryRoot = Path.GetFullPath(result.GetValue(root)!),
                SocketPath = Path.GetFullPath(HostEndpoint.ResolveSocketPath(result.GetValue(socket))),
                Log = line => { lock (log) log.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} hyper host: {line}"); },
            };
            var server = HostServer.StartAsync(options).GetAwaiter().GetResult();
            options.Log($"serving {options.SocketPath}, inventory {options.InventoryRoot}/vms (PID {Environment.ProcessId})");
            using var stop = new ManualResetEventSlim();
            void OnSignal(PosixSignalContext signal) { signal.Cancel = true; stop.Set(); }
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
            stop.Wait();
            options.Log("stopping: applying each running VM's automatic stop action");
            server.StopVmsAsync().GetAwaiter().GetResult();
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            options.Log("stopped");
            return 0;
        }));
        return command;
    }
}
