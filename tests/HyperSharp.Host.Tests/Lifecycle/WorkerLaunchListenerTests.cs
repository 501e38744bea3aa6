using System.Net.Sockets;
using HyperSharp.Host.Workers;

namespace HyperSharp.Host.Tests.Lifecycle;

/// <summary>The socket a host launches a worker with takes the launched process only, and gives up when that process ends.</summary>
public sealed class WorkerLaunchListenerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("hs-launch-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task The_launched_process_is_taken_and_the_socket_goes_afterwards()
    {
        string path = Path.Combine(_folder, "launch.sock");
        var listener = WorkerLaunchListener.Open(path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        using var worker = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await worker.ConnectAsync(new UnixDomainSocketEndPoint(path));
        using var channel = await listener.AcceptAsync(Environment.ProcessId, new TaskCompletionSource().Task, TimeSpan.FromSeconds(30));
        Assert.NotNull(channel);
        listener.Dispose();
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task Another_process_is_turned_away_and_the_launched_ones_end_ends_the_wait()
    {
        string path = Path.Combine(_folder, "launch.sock");
        using var listener = WorkerLaunchListener.Open(path);
        using var intruder = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await intruder.ConnectAsync(new UnixDomainSocketEndPoint(path));
        var launchedEnded = new TaskCompletionSource();
        // Not this process's PID: the connection is closed, and the wait goes on until the launched process ends.
        var accepting = listener.AcceptAsync(Environment.ProcessId + 1_000_000, launchedEnded.Task, TimeSpan.FromMinutes(5));
        Assert.Equal(0, await intruder.ReceiveAsync(new byte[1], SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(30))); // closed by the host
        Assert.False(accepting.IsCompleted);
        launchedEnded.SetResult();
        Assert.Null(await accepting);
    }
}
