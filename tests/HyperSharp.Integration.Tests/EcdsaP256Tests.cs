using System.Security.Cryptography;
using HyperSharp.Integration.Protocol;

namespace HyperSharp.Integration.Tests;

/// <summary>The guest agent's managed P-256 verifier against signatures the BCL (OpenSSL) makes: valid ones pass, any change fails.</summary>
public class EcdsaP256Tests
{
    private static (byte[] PublicKey, ECDsa Key) NewKey()
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var p = key.ExportParameters(false);
        return ([0x04, .. p.Q.X!, .. p.Q.Y!], key);
    }

    private static byte[] Sign(ECDsa key, byte[] hash) => key.SignHash(hash, DSASignatureFormat.Rfc3279DerSequence);

    [Fact]
    public void Signatures_made_by_the_BCL_verify_and_any_change_to_the_hash_the_signature_or_the_key_does_not()
    {
        for (int i = 0; i < 20; i++)
        {
            var (publicKey, key) = NewKey();
            using (key)
            {
                var hash = SHA256.HashData(RandomNumberGenerator.GetBytes(100 + i));
                var signature = Sign(key, hash);
                Assert.True(EcdsaP256.Verify(publicKey, hash, signature), $"round {i}: a valid signature was refused");

                var otherHash = (byte[])hash.Clone();
                otherHash[i % 32] ^= 1;
                Assert.False(EcdsaP256.Verify(publicKey, otherHash, signature));
                var otherSignature = (byte[])signature.Clone();
                otherSignature[^1] ^= 1;
                Assert.False(EcdsaP256.Verify(publicKey, hash, otherSignature));
                var (otherKey, other) = NewKey();
                other.Dispose();
                Assert.False(EcdsaP256.Verify(otherKey, hash, signature));
            }
        }
    }

    [Fact]
    public void Malformed_keys_and_signatures_are_simply_not_valid()
    {
        var (publicKey, key) = NewKey();
        using var _ = key;
        var hash = SHA256.HashData("statement"u8);
        var signature = Sign(key, hash);
        var offCurve = (byte[])publicKey.Clone();
        offCurve[64] ^= 1; // Y changed: no longer a point on the curve
        Assert.False(EcdsaP256.Verify(offCurve, hash, signature));
        Assert.False(EcdsaP256.Verify(publicKey[..64], hash, signature));
        Assert.False(EcdsaP256.Verify(publicKey, hash[..31], signature));
        Assert.False(EcdsaP256.Verify(publicKey, hash, []));
        Assert.False(EcdsaP256.Verify(publicKey, hash, signature[..^1]));
        Assert.False(EcdsaP256.Verify(publicKey, hash, [.. signature, 0]));
        // r = 0, s = 0: out of range
        Assert.False(EcdsaP256.Verify(publicKey, hash, [0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]));
        // The IEEE P1363 form (r || s) is not DER.
        Assert.False(EcdsaP256.Verify(publicKey, hash, key.SignHash(hash)));
    }
}
