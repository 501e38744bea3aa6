using System.Security.Cryptography;
using HyperSharp.Integration.Protocol;

namespace HyperSharp.Integration;

/// <summary>The host's activation key (<see cref="GuestActivation"/>): a P-256 private key in PEM, and the tokens it signs.</summary>
public sealed class ActivationKey : IDisposable
{
    private readonly ECDsa _key;

    private ActivationKey(ECDsa key) => _key = key;

    /// <summary>Reads <paramref name="pemFile"/>; an unreadable file or another kind of key is an <see cref="InvalidDataException"/> naming the file.</summary>
    public static ActivationKey Load(string pemFile)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(pemFile));
            if (key.KeySize != 256) throw new ArgumentException($"a {key.KeySize}-bit key; activation uses P-256");
            return new ActivationKey(key);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new InvalidDataException($"activation key {pemFile}: {e.Message}", e);
        }
    }

    /// <summary>The token that activates VM <paramref name="vmId"/> for the request <paramref name="nonce"/>.</summary>
    public string Token(Guid vmId, string nonce) =>
        GuestActivation.Token(vmId, nonce, _key.SignData(GuestActivation.Statement(vmId, nonce), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));

    public void Dispose() => _key.Dispose();
}
