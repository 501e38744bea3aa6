namespace HyperSharp.PowerShell.Tests;

/// <summary>A test class's own host (<see cref="TestHost"/>) and a runspace pointed at it, working in the host's disk folder.</summary>
public abstract class HostedSession : IAsyncLifetime
{
    protected TestHost Host { get; } = new();

    protected PsSession Ps { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Host.InitializeAsync();
        Ps = new PsSession(Host.SocketPath, Host.Disks);
    }

    public async Task DisposeAsync()
    {
        Ps.Dispose();
        await Host.DisposeAsync();
    }
}
