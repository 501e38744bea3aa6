using System.Numerics;

namespace HyperSharp.Integration.Protocol;

/// <summary>
/// ECDSA signature verification on NIST P-256 (FIPS 186-4 / SEC 1), in managed code: the NativeAOT guest agent has no
/// OpenSSL to lean on (the kit carries glibc only), and it verifies one signature per offered update, so speed does not
/// matter. Verification only — the guest never holds a private key. The host side signs with the BCL's ECDsa
/// (or `openssl dgst -sha256 -sign`), and the tests check this verifier against the BCL's signatures.
/// </summary>
public static class EcdsaP256
{
    private static readonly BigInteger P = Hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
    private static readonly BigInteger N = Hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    private static readonly BigInteger B = Hex("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b");
    private static readonly BigInteger Gx = Hex("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296");
    private static readonly BigInteger Gy = Hex("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");

    /// <summary>Length of an uncompressed public key: 0x04, then X and Y as 32 big-endian bytes each.</summary>
    public const int PublicKeyLength = 65;

    /// <summary>
    /// Whether <paramref name="derSignature"/> (ASN.1 SEQUENCE of the INTEGERs r and s, as OpenSSL and the BCL's
    /// DSASignatureFormat.Rfc3279DerSequence write it) signs <paramref name="sha256"/> for <paramref name="publicKey"/>
    /// (uncompressed point). Any malformed input is simply not a valid signature.
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> sha256, ReadOnlySpan<byte> derSignature)
    {
        if (publicKey.Length != PublicKeyLength || publicKey[0] != 0x04 || sha256.Length != 32) return false;
        var q = new Affine(Unsigned(publicKey[1..33]), Unsigned(publicKey[33..65]));
        if (!OnCurve(q)) return false;
        if (!TryParseDer(derSignature, out var r, out var s)) return false;
        if (r.Sign <= 0 || r >= N || s.Sign <= 0 || s >= N) return false;

        var e = Unsigned(sha256); // a 256-bit hash on a 256-bit order: used whole
        var w = BigInteger.ModPow(s, N - 2, N);
        var u1 = e * w % N;
        var u2 = r * w % N;
        var x = Add(Multiply(new Affine(Gx, Gy), u1), Multiply(q, u2));
        return !x.IsInfinity && ToAffine(x).X % N == r;
    }

    /// <summary>Whether <paramref name="der"/> is exactly SEQUENCE { INTEGER r, INTEGER s } with short-form lengths (P-256 signatures are 70–72 bytes).</summary>
    private static bool TryParseDer(ReadOnlySpan<byte> der, out BigInteger r, out BigInteger s)
    {
        r = s = default;
        if (der.Length < 8 || der[0] != 0x30 || der[1] != der.Length - 2) return false;
        var rest = der[2..];
        return TryInteger(ref rest, out r) && TryInteger(ref rest, out s) && rest.IsEmpty;
    }

    private static bool TryInteger(ref ReadOnlySpan<byte> der, out BigInteger value)
    {
        value = default;
        if (der.Length < 3 || der[0] != 0x02 || der[1] is 0 or > 33 || der.Length < 2 + der[1]) return false;
        var bytes = der.Slice(2, der[1]);
        if ((bytes[0] & 0x80) != 0) return false; // negative
        value = Unsigned(bytes);
        der = der[(2 + der[1])..];
        return true;
    }

    private static bool OnCurve(Affine a) =>
        a.X < P && a.Y < P && Mod(a.Y * a.Y - (a.X * a.X * a.X - 3 * a.X + B)) == 0;

    // Jacobian coordinates (X/Z², Y/Z³): additions without an inversion each; Z = 0 is the point at infinity.
    private readonly record struct Affine(BigInteger X, BigInteger Y);

    private readonly record struct Jacobian(BigInteger X, BigInteger Y, BigInteger Z)
    {
        public bool IsInfinity => Z.IsZero;
        public static readonly Jacobian Infinity = new(BigInteger.One, BigInteger.One, BigInteger.Zero);
    }

    private static Jacobian Multiply(Affine point, BigInteger k)
    {
        var result = Jacobian.Infinity;
        var addend = new Jacobian(point.X, point.Y, BigInteger.One);
        for (long bit = (long)k.GetBitLength() - 1; bit >= 0; bit--)
        {
            result = Double(result);
            if (!(k >> (int)bit).IsEven) result = Add(result, addend);
        }
        return result;
    }

    private static Jacobian Double(Jacobian p)
    {
        if (p.IsInfinity || p.Y.IsZero) return Jacobian.Infinity;
        // a = -3: M = 3(X - Z²)(X + Z²)
        var zz = Mod(p.Z * p.Z);
        var m = Mod(3 * (p.X - zz) * (p.X + zz));
        var yy = Mod(p.Y * p.Y);
        var s = Mod(4 * p.X * yy);
        var x = Mod(m * m - 2 * s);
        var y = Mod(m * (s - x) - 8 * yy * yy);
        var z = Mod(2 * p.Y * p.Z);
        return new Jacobian(x, y, z);
    }

    private static Jacobian Add(Jacobian p, Jacobian q)
    {
        if (p.IsInfinity) return q;
        if (q.IsInfinity) return p;
        var pz2 = Mod(p.Z * p.Z);
        var qz2 = Mod(q.Z * q.Z);
        var u1 = Mod(p.X * qz2);
        var u2 = Mod(q.X * pz2);
        var s1 = Mod(p.Y * qz2 * q.Z);
        var s2 = Mod(q.Y * pz2 * p.Z);
        if (u1 == u2) return s1 == s2 ? Double(p) : Jacobian.Infinity;
        var h = Mod(u2 - u1);
        var r = Mod(s2 - s1);
        var hh = Mod(h * h);
        var hhh = Mod(hh * h);
        var x = Mod(r * r - hhh - 2 * u1 * hh);
        var y = Mod(r * (u1 * hh - x) - s1 * hhh);
        var z = Mod(h * p.Z * q.Z);
        return new Jacobian(x, y, z);
    }

    private static Affine ToAffine(Jacobian p)
    {
        var inverse = BigInteger.ModPow(p.Z, P - 2, P);
        var inverse2 = Mod(inverse * inverse);
        return new Affine(Mod(p.X * inverse2), Mod(p.Y * inverse2 * inverse));
    }

    private static BigInteger Mod(BigInteger value)
    {
        var m = value % P;
        return m.Sign < 0 ? m + P : m;
    }

    private static BigInteger Unsigned(ReadOnlySpan<byte> bigEndian) => new(bigEndian, isUnsigned: true, isBigEndian: true);

    private static BigInteger Hex(string hex) => Unsigned(Convert.FromHexString(hex));
}
