using System.Diagnostics;
using System.Text;
using HyperSharp.Api;
using HyperSharp.Api.V1;
using HyperSharp.Inventory.Platform;

namespace HyperSharp.Host.Tests;

/// <summary>`hyper host` as a process of its own (the built hyper.dll), its log kept, stopped by its PID.</summary>
public sealed class HostProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private HostProcess(Process process)
    {
        _process = process;
        Pid = process.Id;
    }

    public int Pid { get; }
    public string Log { get { lock (_log) return _log.ToString(); } }

    /// <param name="prefix">runs the host through this command (e.g. ip netns exec NAME, for a host inside a network namespace)</param>
    /// <param name="options">more options for `hyper host` (e.g. --tls-listen, --tls-dir)</param>
    public static async Task<HostProcess> StartAsync(string root, string socket, IReadOnlyList<string>? prefix = null, IReadOnlyList<string>? options = null)
    {
        string[] command = [.. prefix ?? [], "dotnet", HostFixture.WorkerCommand[1], "host", "--root", root, "--socket", socket, .. options ?? []];
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in command.Skip(1)) psi.ArgumentList.Add(a);
        var host = new HostProcess(Process.Start(psi)!);
        host._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (host._log) host._log.AppendLine(e.Data); };
        host._process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (host._log) host._log.AppendLine(e.Data); };
        host._process.BeginErrorReadLine();
        host._process.BeginOutputReadLine();
        using var channel = HostEndpoint.Connect(socket);
        var client = new VmHost.VmHostClient(channel);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (host._process.HasExited) throw new InvalidOperationException($"hyper host exited with {host._process.ExitCode}: {host.Log}");
            try
            {
                await client.GetHostAsync(new GetHostRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                return host;
            }
            catch (Grpc.Core.RpcException) when (DateTime.UtcNow < deadline) { await Task.Delay(50); }
        }
    }

    public void Kill()
    {
        HyperSharp.Inventory.Platform.Posix.Signal(Pid, HyperSharp.Inventory.Platform.Posix.SigKill);
        _process.WaitForExit();
    }

    /// <summary>SIGTERM: the host applies the automatic stop actions and exits; returns its exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        HyperSharp.Inventory.Platform.Posix.Signal(Pid, 15);
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
    }
}
