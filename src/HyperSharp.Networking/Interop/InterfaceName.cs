namespace HyperSharp.Networking.Interop;

/// <summary>Linux network interface names: 1 to 15 printable ASCII characters, no '/', ':' or white space.</summary>
public static class InterfaceName
{
    public static void Validate(string name)
    {
        if (name.Length is 0 or > 15 || name is "." or ".." || name.Any(c => c <= ' ' || c > '~' || c is '/' or ':'))
            throw new ArgumentException($"'{name}' is not a valid Linux interface name (1 to 15 characters, no '/', ':' or spaces)", nameof(name));
    }

    /// <summary>Whether an interface of this name exists in the caller's network namespace.</summary>
    public static bool Exists(string name) => NetCalls.if_nametoindex(name) != 0;
}
