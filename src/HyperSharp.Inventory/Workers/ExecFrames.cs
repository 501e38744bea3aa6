using System.Buffers.Binary;
using System.Net.Sockets;

namespace HyperSharp.Inventory.Workers;

/// <summary>
/// A command in the guest between the host and the worker (`hyper vm exec`): after the worker's answer to an "exec"
/// request the connection carries frames — one kind byte, a 4-byte little-endian length, the data — both ways until the
/// worker sends <see cref="Exit"/> or <see cref="Error"/> and closes. The host sends stdin, its end, and signals; the
/// worker sends stdout, stderr and how the command ended. A length beyond <see cref="MaxData"/> ends the exchange.
/// </summary>
public static class ExecFrames
{
    public const byte Stdin = 1, StdinClose = 2, Signal = 3, Stdout = 4, Stderr = 5, Exit = 6, Error = 7;
    public const int MaxData = 64 * 1024;

    /// <summary>Writes one frame; <paramref name="data"/> longer than <see cref="MaxData"/> goes as several.</summary>
    public static async Task WriteAsync(Socket socket, byte kind, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var header = new byte[5];
        do
        {
            var piece = data[..Math.Min(MaxData, data.Length)];
            header[0] = kind;
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(1), piece.Length);
            await SendAllAsync(socket, header, cancellationToken).ConfigureAwait(false);
            await SendAllAsync(socket, piece, cancellationToken).ConfigureAwait(false);
            data = data[piece.Length..];
        } while (!data.IsEmpty);
    }

    /// <summary>The next frame, or null when the other side closed the connection between frames.</summary>
    public static async Task<(byte Kind, byte[] Data)?> ReadAsync(Socket socket, CancellationToken cancellationToken)
    {
        var header = new byte[5];
        if (!await ReceiveAllAsync(socket, header, cancellationToken, endAllowed: true).ConfigureAwait(false)) return null;
        int length = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(1));
        if (length is < 0 or > MaxData) throw new InvalidDataException($"an exec frame of {length} bytes (at most {MaxData})");
        var data = new byte[length];
        await ReceiveAllAsync(socket, data, cancellationToken, endAllowed: false).ConfigureAwait(false);
        return (header[0], data);
    }

    /// <summary>The Exit frame's data: the exit code and the signal that ended the command (0 if none).</summary>
    public static byte[] ExitData(int exitCode, int signal)
    {
        var data = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(data, exitCode);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(4), signal);
        return data;
    }

    public static (int ExitCode, int Signal) ReadExit(byte[] data) => data.Length == 8
        ? (BinaryPrimitives.ReadInt32LittleEndian(data), BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(4)))
        : throw new InvalidDataException($"an exit frame of {data.Length} bytes (8 expected)");

    private static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty) data = data[await socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false)..];
    }

    private static async Task<bool> ReceiveAllAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken, bool endAllowed)
    {
        for (int at = 0; at < buffer.Length;)
        {
            int n = await socket.ReceiveAsync(buffer[at..], SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                if (at == 0 && endAllowed) return false;
                throw new InvalidDataException("the connection ended inside an exec frame");
            }
            at += n;
        }
        return true;
    }
}
