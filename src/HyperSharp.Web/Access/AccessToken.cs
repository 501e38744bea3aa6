using System.Security.Cryptography;
using System.Text;

namespace HyperSharp.Web.Access;

/// <summary>
/// The web console's secret: a random token made when the host starts, printed once and kept in a file only the host's
/// user can read. Whoever shows it (as the login cookie) administers the host; the anti-forgery value is derived from it.
/// </summary>
public sealed class AccessToken
{
    public const string FileName = "web-token";
    private readonly byte[] _token;

    private AccessToken(string value)
    {
        Value = value;
        _token = Encoding.ASCII.GetBytes(value);
        // A keyed hash of the token: a page can carry it in forms, and a site that cannot read our pages cannot forge it.
        AntiForgery = Convert.ToBase64String(HMACSHA256.HashData(_token, "hypersharp-web-antiforgery"u8)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    public string Value { get; }

    /// <summary>The value every state-changing request must carry (a form field or header) besides the cookie.</summary>
    public string AntiForgery { get; }

    /// <summary>A new token, written to ROOT/web-token with mode 0600 (replacing the last host's).</summary>
    public static AccessToken Create(string inventoryRoot)
    {
        var token = new AccessToken(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));
        string path = Path.Combine(inventoryRoot, FileName);
        File.Delete(path); // a file left by another user or with wider rights is not reused
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (OperatingSystem.IsLinux()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new FileStream(path, options))
            file.Write(Encoding.ASCII.GetBytes(token.Value + "\n"));
        return token;
    }

    /// <summary>Whether <paramref name="candidate"/> is the token, in time that does not depend on where it differs.</summary>
    public bool Matches(string? candidate) =>
        candidate is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(candidate), _token);

    public bool MatchesAntiForgery(string? candidate) =>
        candidate is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(candidate), Encoding.ASCII.GetBytes(AntiForgery));
}
