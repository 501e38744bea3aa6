using System.Text;

namespace HyperSharp.Integration.Protocol;

/// <summary>
/// Our form of Automatic VM Activation, carried by Key-Value Pair Exchange as Hyper-V carries AVMA: the agent asks by
/// putting a fresh nonce in its Guest pool; a host that holds the activation key answers in the External pool with a
/// token — the VM's ID, that nonce and the key's ECDSA P-256 signature on both; the agent checks the ID against the
/// VirtualMachineId the host published in the AutoExternal pool (Hyper-V's guest parameters), the nonce against its
/// own, and the signature against the activation public key built into it, then reports its state in its Guest pool.
/// A token is good for one VM and one request: copied into another guest, or replayed later, it does not verify.
/// </summary>
public static class GuestActivation
{
    /// <summary>Guest pool: the nonce of the agent's request (hex).</summary>
    public const string RequestKey = "HyperSharpActivationRequest";
    /// <summary>External pool: the host's token, "VMID NONCE SIGNATURE" (signature DER in base64).</summary>
    public const string TokenKey = "HyperSharpActivationToken";
    /// <summary>Guest pool: <see cref="Activated"/>, or <see cref="NotActivated"/> with the reason after a colon.</summary>
    public const string StateKey = "HyperSharpActivationState";
    /// <summary>AutoExternal pool: the VM's ID, as Hyper-V's guest parameters carry it.</summary>
    public const string VirtualMachineIdKey = "VirtualMachineId";

    public const string Activated = "Activated", NotActivated = "Not activated";

    /// <summary>The reason the agent gives while its request is unanswered.</summary>
    public const string Waiting = "waiting for the host";

    /// <summary>What the activation key signs for <paramref name="vmId"/> and <paramref name="nonce"/>.</summary>
    public static byte[] Statement(Guid vmId, string nonce) =>
        Encoding.ASCII.GetBytes($"hs-activation\nvm {vmId:D}\nnonce {nonce.ToLowerInvariant()}\n");

    public static string Token(Guid vmId, string nonce, byte[] signature) => $"{vmId:D} {nonce} {Convert.ToBase64String(signature)}";

    public static bool TryParseToken(string token, out Guid vmId, out string nonce, out byte[] signature)
    {
        (vmId, nonce, signature) = (Guid.Empty, "", []);
        var parts = token.Split(' ');
        if (parts.Length != 3 || !Guid.TryParse(parts[0], out vmId)) return false;
        nonce = parts[1];
        try { signature = Convert.FromBase64String(parts[2]); } catch (FormatException) { return false; }
        return true;
    }
}
