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

    /// <summary>Throws a message naming the missing file and how to make it.</summary>
    public void Require(params string[] paths)
    {
        foreach (var path in paths)
            if (!File.Exists(path))
                throw new FileNotFoundException($"{path} is missing: create the trust files with `hyper host certs --dir {Directory}`", path);
    }
}
