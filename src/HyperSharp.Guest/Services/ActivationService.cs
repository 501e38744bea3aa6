using HyperSharp.Integration.Protocol;

namespace HyperSharp.Guest.Services;

/// <summary>
/// The guest's side of activation (<see cref="GuestActivation"/>): at every connection a fresh request in the Guest
/// pool and the state "Not activated" until a token arrives that verifies — for this VM's ID, this request's nonce,
/// signed by the activation key whose public half this agent carries. A guest moved to a host without the key stays
/// not activated. The state is kept in the Guest pool, where the host (and Get-VM) reads it.
/// </summary>
internal sealed class ActivationService
{
    private readonly KvpService _kvp;
    private readonly byte[] _activationKey;
    private string? _nonce;

    public ActivationService(KvpService kvp, byte[] activationKey)
    {
        (_kvp, _activationKey) = (kvp, activationKey);
        kvp.ItemSet += (pool, key, value) =>
        {
            if (pool == KvpPool.External && key == GuestActivation.TokenKey) Take(value);
        };
    }

    /// <summary>Asks the host for activation: a new nonce in the Guest pool, the state not activated until a token verifies.</summary>
    public void Request()
    {
        try
        {
            if (_activationKey.Length == 0)
            {
                _kvp.SetGuestItem(GuestActivation.StateKey, $"{GuestActivation.NotActivated}: this agent carries no activation key");
                return;
            }
            _nonce = Convert.ToHexStringLower(RandomBytes(16));
            _kvp.SetGuestItem(GuestActivation.StateKey, $"{GuestActivation.NotActivated}: {GuestActivation.Waiting}");
            _kvp.SetGuestItem(GuestActivation.RequestKey, _nonce);
        }
        catch (Exception e) when (e is ProtocolException or IOException or UnauthorizedAccessException) { Linux.AgentLog.Info($"activation not requested: {e.Message}"); }
    }

    /// <summary>
    /// From the kernel's random source: the BCL's RandomNumberGenerator goes through OpenSSL on Linux, which the agent
    /// does without (the kit carries glibc only) — an agent that used it died at its first request.
    /// </summary>
    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        using var random = File.OpenRead("/dev/urandom");
        random.ReadExactly(bytes);
        return bytes;
    }

    private void Take(string token)
    {
        string state = Check(token) is { } why ? $"{GuestActivation.NotActivated}: {why}" : GuestActivation.Activated;
        try { _kvp.SetGuestItem(GuestActivation.StateKey, state); }
        catch (ProtocolException e) { Linux.AgentLog.Info($"activation state not kept: {e.Message}"); return; }
        if (state == GuestActivation.Activated) Linux.AgentLog.Kernel($"activated by the host for VM {_kvp.Find(KvpPool.AutoExternal, GuestActivation.VirtualMachineIdKey)}");
        else Linux.AgentLog.Info($"activation refused: {state}");
    }

    /// <summary>Null when <paramref name="token"/> activates this guest, else why not.</summary>
    private string? Check(string token)
    {
        if (_activationKey.Length == 0) return "this agent carries no activation key";
        if (_nonce is null) return "no activation was requested on this connection";
        if (!GuestActivation.TryParseToken(token, out var vmId, out var nonce, out var signature)) return "the host's token is malformed";
        if (!Guid.TryParse(_kvp.Find(KvpPool.AutoExternal, GuestActivation.VirtualMachineIdKey), out var ours)) return "the host did not say which VM this is";
        if (vmId != ours) return $"the token is for VM {vmId}, this is VM {ours}";
        if (!string.Equals(nonce, _nonce, StringComparison.OrdinalIgnoreCase)) return "the token answers another request";
        if (!EcdsaP256.Verify(_activationKey, Sha256Stream.Hash(GuestActivation.Statement(vmId, nonce)), signature))
            return "the token's signature does not verify with this agent's activation key";
        return null;
    }
}
