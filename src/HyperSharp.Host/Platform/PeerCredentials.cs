using System.Buffers.Binary;
using System.Net.Sockets;

namespace HyperSharp.Host.Platform;

/// <summary>
/// Who is at the other end of a Unix socket, as the kernel recorded it when they connected (SO_PEERCRED) with their
/// supplementary groups (SO_PEERGROUPS): nothing the client says, so nothing it can fake.
/// </summary>
public sealed record PeerCredentials(int Pid, uint Uid, uint Gid, uint[] Groups)
{
    private const int SolSocket = 1, SoPeerCred = 17, SoPeerGroups = 59;

    public static PeerCredentials Of(Socket socket)
    {
        Span<byte> ucred = stackalloc byte[12]; // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        if (socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred) != 12) throw new IOException("the socket gave no peer credentials");
        var credentials = new PeerCredentials(BinaryPrimitives.ReadInt32LittleEndian(ucred), BinaryPrimitives.ReadUInt32LittleEndian(ucred[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(ucred[8..]), []);
        return credentials with { Groups = GroupsOf(socket) };
    }

    private static uint[] GroupsOf(Socket socket)
    {
        // NGROUPS_MAX is 65536; almost everyone has a handful. Ask with room for 1024 first.
        foreach (int count in (int[])[1024, 65536])
        {
            var buffer = new byte[count * 4];
            int length;
            try { length = socket.GetRawSocketOption(SolSocket, SoPeerGroups, buffer); }
            catch (SocketException) when (count == 1024) { continue; } // ERANGE: more groups than that
            var groups = new uint[length / 4];
            for (int i = 0; i < groups.Length; i++) groups[i] = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(i * 4));
            return groups;
        }
        return [];
    }
}
