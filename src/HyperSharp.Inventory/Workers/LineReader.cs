using System.Net.Sockets;
using System.Text;

namespace HyperSharp.Inventory.Workers;

/// <summary>Reads one '\n'-terminated line from a socket byte by byte, so nothing after it is consumed (the console stream follows).</summary>
public static class LineReader
{
    private const int MaxLine = 64 * 1024;

    public static async Task<string?> ReadLineAsync(Socket socket, CancellationToken cancellationToken)
    {
        var bytes = new List<byte>(128);
        var one = new byte[1];
        while (true)
        {
            int n = await socket.ReceiveAsync(one, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (n == 0) return bytes.Count == 0 ? null : Encoding.UTF8.GetString(bytes.ToArray());
            if (one[0] == '\n') return Encoding.UTF8.GetString(bytes.ToArray());
            if (bytes.Count == MaxLine) throw new InvalidDataException("a control message longer than 64 KiB");
            bytes.Add(one[0]);
        }
    }
}
