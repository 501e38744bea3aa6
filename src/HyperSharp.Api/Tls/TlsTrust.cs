using System.Security.Cryptography.X509Certificates;

namespace HyperSharp.Api.Tls;

/// <summary>
/// Whether a peer's certificate chains to our own certificate authority (and only to it: the system's roots
/// play no part) and is meant for its role. Both ends of a remote connection decide with this.
/// </summary>
public static class TlsTrust
{
    private const string ServerAuth = "1.3.6.1.5.5.7.3.1", ClientAuth = "1.3.6.1.5.5.7.3.2";

    public static bool IsTrustedHost(X509Certificate2? certificate, X509Certificate2 authority) => Chains(certificate, authority, ServerAuth);

    public static bool IsTrustedClient(X509Certificate2? certificate, X509Certificate2 authority) => Chains(certificate, authority, ClientAuth);

    /// <summary>
    /// A TLS client's check of the host it reached: the name must match (the TLS layer checked it) and the chain must end at our
    /// authority, not the system's roots.
    /// </summary>
    public static bool AcceptsHost(X509Certificate? certificate, System.Net.Security.SslPolicyErrors errors, X509Certificate2 authority) =>
        (errors & System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch) == 0 && (errors & System.Net.Security.SslPolicyErrors.RemoteCertificateNotAvailable) == 0 &&
        IsTrustedHost(certificate as X509Certificate2 ?? (certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData())), authority);

    private static bool Chains(X509Certificate2? certificate, X509Certificate2 authority, string usage)
    {
        if (certificate is null) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck; // one authority per host; revoke by replacing it
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(usage));
        return chain.Build(certificate) && chain.ChainElements[^1].Certificate.Thumbprint == authority.Thumbprint;
    }
}
