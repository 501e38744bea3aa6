namespace HyperSharp.Hypervisor;

/// <summary>Whether a backend is usable here; <see cref="Reason"/> explains a refusal in words a user can act on.</summary>
public sealed record HypervisorAvailability(bool IsAvailable, string Reason)
{
    /// <summary>A usable backend; <paramref name="detail"/> may describe it (version, speed class).</summary>
    public static HypervisorAvailability Available(string detail = "available") => new(true, detail);

    /// <summary>An unusable backend and the reason.</summary>
    public static HypervisorAvailability Unavailable(string reason) => new(false, reason);

    /// <inheritdoc/>
    public override string ToString() => IsAvailable ? Reason : "unavailable: " + Reason;
}
