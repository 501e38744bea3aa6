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
        var tlsListen = new Option<string?>("--tls-listen") { Description = "Also serve remote clients over TCP with mutual TLS at ADDRESS:PORT (e.g. 0.0.0.0:7443)" };
        var tlsDir = new Option<string?>("--tls-dir") { Description = "The trust files for --tls-listen (ca.crt, host.crt, host.key; made by `hyper host certs`)" };
        var storage = new Option<string[]>("--storage-path")
        {
            Description = "A folder remote (TLS) clients may name files in: kernels, disks, VM folders (repeatable; default ROOT/vhds)", AllowMultipleArgumentsPerToken = true,
        };
        var memoryPool = new Option<string?>("--dynamic-memory-pool")
        {
            Description = "The most memory the VMs with dynamic memory may have together, e.g. 16GB (default: what they have plus the host's available memory, less a reserve for the host)",
        };
        var web = new Option<string?>("--web") { Description = "Also serve the web console at ADDRESS:PORT: with --tls-dir over HTTPS to client certificates, else on a loopback address (e.g. 127.0.0.1:8080) with a token whose login address is printed" };
        var clusterEtcd = new Option<string?>("--cluster-etcd")
        {
            Description = "Be a failover cluster node: the cluster's etcd client URLs, comma-separated (e.g. http://127.0.0.1:2379)",
        };
        var clusterNode = new Option<string?>("--cluster-node") { Description = "This node's name in the cluster (default: the machine's name)" };
        var agentUpdate = new Option<string?>("--agent-update")
        {
            Description = "A folder with a newer guest agent (hs-agent, hs-agent.version, hs-agent.sig, as eng/guest/build-agent.sh writes them): every VM's older agent is offered it and, once it verifies the publisher's signature, replaces itself",
        };
        var activationKey = new Option<string?>("--activation-key")
        {
            Description = "The activation key (a P-256 private key in PEM, e.g. `openssl ecparam -name prime256v1 -genkey -noout`): guests whose agent carries its public half (build-agent.sh HYPERSHARP_ACTIVATION_KEY) are activated on this host",
        };
        var command = new Command("host", "Run the host service (VM management) in the foreground") { root, socket, tlsListen, tlsDir, storage, memoryPool, web, clusterEtcd, clusterNode, agentUpdate, activationKey };
        command.Subcommands.Add(CertsCommand(context));
        command.SetAction(result => CliAction.Run(context, () =>
        {
            var log = context.Error;
            var nesting = HyperSharp.Hypervisor.Kvm.KvmNesting.Check();
            var options = new HostServerOptions
            {
                NestedVirtualizationSupported = nesting.IsAvailable,
                InventoryRoot = Path.GetFullPath(result.GetValue(root)!),
                SocketPath = Path.GetFullPath(HostEndpoint.ResolveSocketPath(result.GetValue(socket))),
                Log = line => { lock (log) log.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} hyper host: {line}"); },
                TlsListen = result.GetValue(tlsListen) is { } listen ? ParseEndpoint(listen) : null,
                TlsDirectory = result.GetValue(tlsDir) is { } dir ? Path.GetFullPath(dir) : null,
                StoragePaths = result.GetValue(storage) is { Length: > 0 } paths ? [.. paths.Select(Path.GetFullPath)] : null,
                MemoryBalancer = new() { PoolBytes = result.GetValue(memoryPool) is { } pool ? SizeParser.Parse(pool, "--dynamic-memory-pool") : null },
                Cluster = result.GetValue(clusterEtcd) is { } etcd
                    ? new HyperSharp.Host.Cluster.ClusterNodeOptions
                    {
                        EtcdEndpoints = etcd.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                        NodeName = result.GetValue(clusterNode) ?? Environment.MachineName,
                    }
                    : result.GetValue(clusterNode) is null ? null : throw new UsageException("--cluster-node needs --cluster-etcd (where the cluster's etcd is)"),
                AgentUpdateFolder = result.GetValue(agentUpdate) is { } updates ? CheckedAgentUpdate(Path.GetFullPath(updates)) : null,
                ActivationKeyFile = result.GetValue(activationKey) is { } keyFile ? CheckedActivationKey(Path.GetFullPath(keyFile)) : null,
            };
            if (options.TlsListen is not null && options.TlsDirectory is null) throw new UsageException("--tls-listen needs --tls-dir (the trust files; create them with `hyper host certs --dir DIR`)");
            var webListen = WebConsoleCommand.ParseListen(result.GetValue(web), options.TlsDirectory);
            var server = HostServer.StartAsync(options).GetAwaiter().GetResult();
            options.Log($"nested virtualization: {nesting}");
            options.Log($"serving {options.SocketPath}{(options.TlsListen is { } ep ? $" and https://{ep} (mutual TLS)" : "")}, inventory {options.InventoryRoot}/vms (PID {Environment.ProcessId})");
            var webConsole = WebConsoleCommand.Start(webListen, server, options);
            using var stop = new ManualResetEventSlim();
            void OnSignal(PosixSignalContext signal) { signal.Cancel = true; stop.Set(); }
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
            stop.Wait();
            webConsole?.Dispose();
            options.Log("stopping: applying each running VM's automatic stop action");
            server.StopVmsAsync().GetAwaiter().GetResult();
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            options.Log("stopped");
            return 0;
        }));
        return command;
    }

    private static System.Net.IPEndPoint ParseEndpoint(string text) =>
        System.Net.IPEndPoint.TryParse(text, out var endpoint) && endpoint.Port != 0
            ? endpoint
            : throw new UsageException($"--tls-listen {text}: give ADDRESS:PORT, e.g. 0.0.0.0:7443 or [::]:7443");

    /// <summary>`hyper host certs`: the trust files for remote management (an authority, the host's certificate, an administrator's).</summary>
    private static Command CertsCommand(CliContext context)
    {
        var dir = new Option<string>("--dir") { Description = "Where to write ca.crt/key, host.crt/key, client.crt/key", Required = true };
        var names = new Option<string[]>("--name") { Description = "A DNS name clients use for this host (repeatable; default: this machine's name and localhost)", AllowMultipleArgumentsPerToken = true };
        var addresses = new Option<string[]>("--ip") { Description = "An IP address clients use for this host (repeatable; default 127.0.0.1)", AllowMultipleArgumentsPerToken = true };
        var command = new Command("certs", "Create the trust files for remote management with mutual TLS") { dir, names, addresses };
        command.SetAction(result => CliAction.Run(context, () =>
        {
            var files = new HyperSharp.Api.Tls.TlsFiles(Path.GetFullPath(result.GetValue(dir)!));
            string[] hostNames = result.GetValue(names) is { Length: > 0 } n ? n : [Environment.MachineName, "localhost"];
            var ips = (result.GetValue(addresses) is { Length: > 0 } a ? a : ["127.0.0.1"])
                .Select(x => System.Net.IPAddress.TryParse(x, out var ip) ? ip : throw new UsageException($"--ip {x} is not an IP address")).ToArray();
            HyperSharp.Api.Tls.HostCertificates.Create(files, hostNames, ips);
            context.Out.WriteLine($"wrote {files.Directory}: ca.crt, host.crt, client.crt and their keys (keys readable by you only)");
            context.Out.WriteLine($"host:    hyper host --tls-listen 0.0.0.0:7443 --tls-dir {files.Directory}");
            context.Out.WriteLine($"clients: {HostEndpoint.AddressEnvironmentVariable}=https://{hostNames[0]}:7443 {HostEndpoint.TlsDirectoryEnvironmentVariable}=DIR hyper vm list   (DIR holding ca.crt, client.crt, client.key)");
            return 0;
        }));
        return command;
    }

    /// <summary>The agent update folder, refused at start when incomplete (rather than in every VM's worker log).</summary>
    private static string CheckedAgentUpdate(string folder)
    {
        try { HyperSharp.Integration.AgentUpdatePackage.Load(folder); }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException) { throw new UsageException($"--agent-update: {e.Message}"); }
        return folder;
    }

    /// <summary>The activation key file, refused at start unless it holds a P-256 private key.</summary>
    private static string CheckedActivationKey(string file)
    {
        try { HyperSharp.Integration.ActivationKey.Load(file).Dispose(); }
        catch (InvalidDataException e) { throw new UsageException($"--activation-key: {e.Message}"); }
        return file;
    }
}
