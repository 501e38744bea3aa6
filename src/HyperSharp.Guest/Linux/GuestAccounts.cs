using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace HyperSharp.Guest.Linux;

/// <summary>
/// The guest's accounts as /etc/passwd and /etc/shadow hold them, and a password checked against its shadow hash with
/// the guest's own crypt(3) — libcrypt.so.1 (libxcrypt: yescrypt, SHA-512, MD5 ...), loaded only when a password is
/// checked: the agent itself needs nothing but glibc, and the kit carries libcrypt for this.
/// </summary>
internal static class GuestAccounts
{
    public sealed record Account(string Name, uint Uid, uint Gid, string Home, string Shell);

    /// <summary>The same answer for an unknown user and a wrong password: the caller learns nothing about which accounts exist.</summary>
    public const string WrongCredentials = "the user name or password is wrong";

    public static Account? Find(string name, string passwd = "/etc/passwd")
    {
        foreach (var fields in Records(passwd))
            if (fields.Length >= 7 && fields[0] == name && uint.TryParse(fields[2], out uint uid) && uint.TryParse(fields[3], out uint gid))
                return new Account(name, uid, gid, fields[5].Length > 0 ? fields[5] : "/", fields[6].Length > 0 ? fields[6] : "/bin/sh");
        return null;
    }

    /// <summary>Null when <paramref name="password"/> is the account's, else why not (in words a refusal can show).</summary>
    public static string? Check(string name, string password, string passwd = "/etc/passwd", string shadow = "/etc/shadow")
    {
        if (name.Length == 0 || name.Contains(':') || Find(name, passwd) is null) return WrongCredentials;
        string? hash = null;
        foreach (var fields in Records(shadow))
            if (fields.Length >= 2 && fields[0] == name) { hash = fields[1]; break; }
        if (hash is null) return WrongCredentials;
        if (hash.Length == 0) return $"the account '{name}' has no password; set one in the guest (passwd {name})";
        if (hash[0] is '!' or '*') return $"the account '{name}' is locked";
        return Crypt(password, hash) is { } computed && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(computed), Encoding.UTF8.GetBytes(hash))
            ? null : WrongCredentials;
    }

    private static IEnumerable<string[]> Records(string path)
    {
        string[] lines;
        try { lines = File.ReadAllLines(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { yield break; }
        foreach (var line in lines) yield return line.Split(':');
    }

    private static IntPtr _crypt;

    /// <summary>crypt(3) of libcrypt.so.1; null on its failure (an unknown hash method). Throws when the guest has no libcrypt.</summary>
    private static unsafe string? Crypt(string password, string setting)
    {
        if (_crypt == IntPtr.Zero)
        {
            if (!NativeLibrary.TryLoad("libcrypt.so.1", out var library) || !NativeLibrary.TryGetExport(library, "crypt", out _crypt))
                throw new IOException("the guest cannot check passwords: libcrypt.so.1 (Debian's libcrypt1) is not installed");
        }
        var crypt = (delegate* unmanaged<byte*, byte*, byte*>)_crypt;
        fixed (byte* key = Encoding.UTF8.GetBytes(password + "\0"))
        fixed (byte* salt = Encoding.UTF8.GetBytes(setting + "\0"))
        {
            // Safe: both are NUL-terminated copies pinned for the call; crypt returns static storage read at once (runas is single-threaded).
            byte* result = crypt(key, salt);
            string? text = result is null ? null : Marshal.PtrToStringUTF8((IntPtr)result);
            return text is null || text.StartsWith('*') ? null : text;
        }
    }
}
