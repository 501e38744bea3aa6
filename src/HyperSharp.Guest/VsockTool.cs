using System.Net.Sockets;
using HyperSharp.Guest.Linux;

namespace HyperSharp.Guest;

/// <summary>
/// `hs-agent vsock connect PORT` (to the host) and `hs-agent vsock listen PORT` (one connection): copies standard input
/// to the socket and the socket to standard output, like `socat - VSOCK-CONNECT:2:PORT`, for scripts and benchmarks.
/// </summary>
internal static class VsockTool
{
    public static int Run(string[] args)
    {
        if (args.Length != 2 || !uint.TryParse(args[1], out uint port) || args[0] is not ("connect" or "listen"))
        {
            Console.Error.WriteLine("usage: hs-agent vsock connect|listen PORT");
            return 2;
        }
        try
        {
            Socket socket;
            if (args[0] == "connect") socket = VsockSocket.Connect(VsockSocket.HostCid, port);
            else
            {
                using var listener = VsockSocket.Listen(port);
                Console.Error.WriteLine($"hs-agent: listening on vsock port {port}");
                socket = VsockSocket.Accept(listener);
            }
            {
                using var stream = new SocketStream(socket);
                var up = Task.Run(() =>
                {
                    using var stdin = Console.OpenStandardInput();
                    stdin.CopyTo(stream, 64 * 1024);
                    socket.Shutdown(SocketShutdown.Send);
                });
                using (var stdout = Console.OpenStandardOutput()) stream.CopyTo(stdout, 64 * 1024);
                up.Wait();
            }
            return 0;
        }
        catch (Exception e) when (e is IOException or SocketException or AggregateException)
        {
            Console.Error.WriteLine($"hs-agent vsock: {e.Message}");
            return 1;
        }
    }
}
