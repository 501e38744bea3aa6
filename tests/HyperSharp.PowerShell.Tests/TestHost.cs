using System.Diagnostics;
using HyperSharp.Api;
using HyperSharp.Api.V1;
using HyperSharp.Host;

namespace HyperSharp.PowerShell.Tests;

/// <summary>
/// A real host service, in-process, on a socket and inventory in a fresh temporary folder; its VMs' workers
/// are `hyper worker` processes of the CLI built beside the tests. Removed afterwards, every worker still
/// running killed by its PID (workers outlive a host on purpose).
/// </summary>
public sealed class TestHost : IAsyncLifetime
{
    private HostServer? _server;

    // Short: a Unix socket path must fit in 108 bytes, and workers' sockets live in VM folders under this root.
    public string Root { get; } = Directory.CreateDirectory(Path.Combine("/tmp", "hs-ps-" + Guid.NewGuid().ToString("N")[..10])).FullName;

    public string SocketPath => Path.Combine(Root, "host.sock");

    /// <summary>A folder for the test's disk files.</summary>
    public string Disks => Directory.CreateDirectory(Path.Combine(Root, "disks")).FullName;

    public async Task InitializeAsync() => _server = await HostServer.StartAsync(new HostServerOptions
    {
        InventoryRoot = Path.Combine(Root, "vms"),
        SocketPath = SocketPath,
        WorkerCommand = ["dotnet", Path.Combine(AppContext.BaseDirectory, "hyper.dll")],
    });

    /// <summary>A guest that needs no Linux: an ELF image that idles in HLT with interrupts on.</summary>
    public string IdleGuest()
    {
        string path = Path.Combine(Root, "idle.elf");
        // sti; hlt; jmp back to sti — the vCPU sleeps until an interrupt, then sleeps again.
        File.WriteAllBytes(path, HyperSharp.Machine.Boot.ElfBuilder.Wrap([0xFB, 0xF4, 0xEB, 0xFC], 0x100000));
        return path;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await KillWorkersAsync();
            await _server.DisposeAsync();
        }
        Directory.Delete(Root, recursive: true);
    }

    /// <summary>The workers' own logs, to show when a VM did not do what the test expected.</summary>
    public string WorkerLogs() => string.Join("\n", Directory.EnumerateFiles(Root, "worker.log", SearchOption.AllDirectories)
        .Select(f => $"--- {f}\n{File.ReadAllText(f)}"));

    private async Task KillWorkersAsync()
    {
        using var channel = HostEndpoint.Connect(SocketPath);
        var vms = await new VmHost.VmHostClient(channel).ListVmsAsync(new ListVmsRequest());
        foreach (var vm in vms.Vms)
        {
            if (vm.WorkerPid <= 0) continue;
            try { using var worker = Process.GetProcessById(vm.WorkerPid); worker.Kill(); await worker.WaitForExitAsync(); }
            catch (ArgumentException) { } // already gone
        }
    }
}
