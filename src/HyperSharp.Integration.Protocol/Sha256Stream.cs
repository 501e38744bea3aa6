using System.Buffers.Binary;
using System.Numerics;

namespace HyperSharp.Integration.Protocol;

/// <summary>
/// Incremental SHA-256 (FIPS 180-4), for checking copied files inside the guest. The BCL's hashing on Linux loads
/// OpenSSL, which would add libcrypto to every guest the agent runs in; this keeps the agent's needs to libc.
/// Checked against the BCL's SHA256 in the tests.
/// </summary>
public sealed class Sha256Stream
{
    private static readonly uint[] K =
    [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
        0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
        0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    private readonly uint[] _h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    private readonly byte[] _block = new byte[64];
    private int _blockLength;
    private ulong _totalBytes;

    public void Append(ReadOnlySpan<byte> data)
    {
        _totalBytes += (ulong)data.Length;
        if (_blockLength > 0)
        {
            int n = Math.Min(64 - _blockLength, data.Length);
            data[..n].CopyTo(_block.AsSpan(_blockLength));
            _blockLength += n;
            data = data[n..];
            if (_blockLength < 64) return;
            Compress(_block);
            _blockLength = 0;
        }
        while (data.Length >= 64) { Compress(data[..64]); data = data[64..]; }
        data.CopyTo(_block);
        _blockLength = data.Length;
    }

    /// <summary>The digest of everything appended, as lower-case hex; the object is spent afterwards.</summary>
    public string FinishHex() => Convert.ToHexStringLower(Finish());

    /// <summary>The SHA-256 of <paramref name="data"/>.</summary>
    public static byte[] Hash(ReadOnlySpan<byte> data)
    {
        var hash = new Sha256Stream();
        hash.Append(data);
        return hash.Finish();
    }

    /// <summary>The digest of everything appended; the object is spent afterwards.</summary>
    public byte[] Finish()
    {
        ulong bits = _totalBytes * 8;
        Span<byte> pad = stackalloc byte[72];
        pad.Clear();
        pad[0] = 0x80;
        int padLength = (_blockLength < 56 ? 56 : 120) - _blockLength;
        BinaryPrimitives.WriteUInt64BigEndian(pad[padLength..], bits);
        ulong total = _totalBytes;
        Append(pad[..(padLength + 8)]);
        _totalBytes = total;
        var digest = new byte[32];
        for (int i = 0; i < 8; i++) BinaryPrimitives.WriteUInt32BigEndian(digest.AsSpan(4 * i), _h[i]);
        return digest;
    }

    /// <summary>
    /// One 64-byte block. Unsafe with the schedule on the stack and no bounds checks: in a guest on the Emulated
    /// backend every instruction of this loop is interpreted, and it runs 15 times per KiB copied.
    /// </summary>
    private unsafe void Compress(ReadOnlySpan<byte> block)
    {
        uint* w = stackalloc uint[64];
        fixed (byte* b = block)
        fixed (uint* k = K)
        fixed (uint* state = _h)
        {
            // Safe: block is 64 bytes (callers pass exactly one block), w holds 64 words, K 64, _h 8.
            for (int i = 0; i < 16; i++) { uint v = *(uint*)(b + 4 * i); w[i] = BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(v) : v; }
            for (int i = 16; i < 64; i++)
            {
                uint x = w[i - 15], y = w[i - 2];
                w[i] = w[i - 16] + (BitOperations.RotateRight(x, 7) ^ BitOperations.RotateRight(x, 18) ^ (x >> 3)) + w[i - 7]
                    + (BitOperations.RotateRight(y, 17) ^ BitOperations.RotateRight(y, 19) ^ (y >> 10));
            }
            uint a = state[0], bb = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
            for (int i = 0; i < 64; i++)
            {
                uint t1 = h + (BitOperations.RotateRight(e, 6) ^ BitOperations.RotateRight(e, 11) ^ BitOperations.RotateRight(e, 25)) + (g ^ (e & (f ^ g))) + k[i] + w[i];
                uint t2 = (BitOperations.RotateRight(a, 2) ^ BitOperations.RotateRight(a, 13) ^ BitOperations.RotateRight(a, 22)) + ((a & bb) | (c & (a | bb)));
                h = g; g = f; f = e; e = d + t1; d = c; c = bb; bb = a; a = t1 + t2;
            }
            state[0] += a; state[1] += bb; state[2] += c; state[3] += d; state[4] += e; state[5] += f; state[6] += g; state[7] += h;
        }
    }
}
