using System.Security.Cryptography.X509Certificates;

namespace HyperSharp.Api.Tls;

/// <summary>
/// The files of a host's remote-management trust, in one directory: the certificate authority that signs
/// both sides, the host's certificate, and a client certificate for an administrator. Mutual TLS: the host
/// accepts only clients whose certificate the authority signed, and clients accept only such a host.
/// </summary>
public sealed record TlsFiles(string Directory)
{
    public string AuthorityCertificate => Path.Combine(Directory, "ca.crt");
    public string AuthorityKey => Path.Combine(Directory, "ca.key");
    public string HostCertificate => Path.Combine(Directory, "host.crt");
    public string HostKey => Path.Combine(Directory, "host.key");
    public string ClientCertificate => Path.Combine(Directory, "client.crt");
    public string ClientKey => Path.Combine(Directory, "client.key");

    /// <summary>The authority's certificate alone (CreateFromPemFile would look for a private key in the file).</summary>
    public X509Certificate2 LoadAuthority()
    {
        Require(AuthorityCertificate);
        return X509Certificate2.CreateFromPem(File.ReadAllText(AuthorityCertificate));
    }

    /// <summary>The host's certificate with its key, ready for TLS.</summary>
    public X509Certificate2 LoadHost() => LoadWithKey(HostCertificate, HostKey);

    /// <summary>The administrator's certificate with its key, ready for TLS.</summary>
    public X509Certificate2 LoadClient() => LoadWithKey(ClientCertificate, ClientKey);

    private X509Certificate2 LoadWithKey(string certificate, string key)
    {
        Require(certificate, key);
        using var pem = X509Certificate2.CreateFromPemFile(certificate, key);
        // A key loaded from PEM is ephemeral; the TLS stack on Linux wants it in an exportable container.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Throws a message naming the missing file and how to make it.</summary>
    public void Require(params string[] paths)
    {
        foreach (var path in paths)
            if (!File.Exists(path))
                throw new FileNotFoundException($"{path} is missing: create the trust files with `hyper host certs --dir {Directory}`", path);
    }
}
