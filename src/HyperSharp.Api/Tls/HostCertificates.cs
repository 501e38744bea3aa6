using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace HyperSharp.Api.Tls;

/// <summary>
/// Creates a host's trust files (<see cref="TlsFiles"/>): a certificate authority, the host's certificate for
/// the names and addresses clients will use, and one administrator's client certificate, all ECDSA P-256, as
/// PEM; private keys readable by the owner only.
/// </summary>
public static class HostCertificates
{
    public static void Create(TlsFiles files, IReadOnlyList<string> hostNames, IReadOnlyList<IPAddress> hostAddresses, TimeSpan? validity = null)
    {
        if (hostNames.Count == 0 && hostAddresses.Count == 0) throw new ArgumentException("the host certificate needs at least one name or address clients will connect to");
        foreach (var existing in new[] { files.AuthorityKey, files.HostKey, files.ClientKey })
            if (File.Exists(existing)) throw new IOException($"{existing} exists: refusing to replace a trust in use (remove the directory's files first)");
        Directory.CreateDirectory(files.Directory);
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        var until = now + (validity ?? TimeSpan.FromDays(3650));

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN=HyperSharp host authority ({Environment.MachineName})", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now, until);

        var names = new SubjectAlternativeNameBuilder();
        foreach (var name in hostNames) names.AddDnsName(name);
        foreach (var address in hostAddresses) names.AddIpAddress(address);
        using var host = Issue(ca, caKey, $"CN={(hostNames.Count > 0 ? hostNames[0] : hostAddresses[0].ToString())}", "1.3.6.1.5.5.7.3.1", names.Build(), now, until, out var hostKey);
        using var client = Issue(ca, caKey, "CN=HyperSharp administrator", "1.3.6.1.5.5.7.3.2", null, now, until, out var clientKey);

        Write(files.AuthorityCertificate, ca.ExportCertificatePem(), secret: false);
        Write(files.AuthorityKey, caKey.ExportPkcs8PrivateKeyPem(), secret: true);
        Write(files.HostCertificate, host.ExportCertificatePem(), secret: false);
        Write(files.HostKey, hostKey.ExportPkcs8PrivateKeyPem(), secret: true);
        Write(files.ClientCertificate, client.ExportCertificatePem(), secret: false);
        Write(files.ClientKey, clientKey.ExportPkcs8PrivateKeyPem(), secret: true);
        hostKey.Dispose();
        clientKey.Dispose();
    }

    private static X509Certificate2 Issue(X509Certificate2 ca, ECDsa caKey, string subject, string usage, X509Extension? names,
        DateTimeOffset from, DateTimeOffset until, out ECDsa key)
    {
        key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], true));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        if (names != null) request.CertificateExtensions.Add(names);
        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F; // a positive serial number
        return request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), from, until, serial);
    }

    private static void Write(string path, string pem, bool secret)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (secret && !OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var stream = new FileStream(path, options);
        using var writer = new StreamWriter(stream);
        writer.Write(pem);
    }
}
