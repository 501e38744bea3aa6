using System.Security.Cryptography;
using HyperSharp.Integration.Protocol;

namespace HyperSharp.Integration.Tests;

/// <summary>
/// Guest activation in one process (the agent's code over a socket pair): the agent asks in its Guest pool; a token
/// from the activation key for this VM and this request activates it; a token for another VM, from another key, or
/// for an earlier request does not; an agent without the key's public half is never activated.
/// </summary>
public class ActivationTests
{
    private static readonly Guid VmId = Guid.NewGuid();

    private static (ActivationKey Key, byte[] Public) NewKey(string folder, string name)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string file = Path.Combine(folder, name);
        File.WriteAllText(file, ecdsa.ExportECPrivateKeyPem());
        var p = ecdsa.ExportParameters(false);
        return (ActivationKey.Load(file), [0x04, .. p.Q.X!, .. p.Q.Y!]);
    }

    private static async Task<string> Guest(InProcessAgent pair, string key) =>
        (await pair.Host.GetKvpAsync(KvpPool.Guest)).SingleOrDefault(i => i.Key == key)?.Value ?? "";

    [Fact]
    public async Task A_token_for_this_vm_and_request_from_the_activation_key_activates_the_guest()
    {
        string keys = Directory.CreateTempSubdirectory("hs-activation").FullName;
        try
        {
            var (key, publicKey) = NewKey(keys, "activation.pem");
            var (stranger, _) = NewKey(keys, "other.pem");
            await using var pair = await InProcessAgent.StartAsync(activationKey: publicKey);
            await pair.Host.SetKvpAsync(GuestActivation.VirtualMachineIdKey, VmId.ToString("D"), pool: KvpPool.AutoExternal);
            string nonce = await Guest(pair, GuestActivation.RequestKey);
            Assert.Matches("^[0-9a-f]{32}$", nonce);
            Assert.StartsWith(GuestActivation.NotActivated, await Guest(pair, GuestActivation.StateKey));

            await pair.Host.SetKvpAsync(GuestActivation.TokenKey, key.Token(Guid.NewGuid(), nonce));
            Assert.Contains("the token is for VM", await Guest(pair, GuestActivation.StateKey));
            await pair.Host.SetKvpAsync(GuestActivation.TokenKey, stranger.Token(VmId, nonce));
            Assert.Contains("does not verify", await Guest(pair, GuestActivation.StateKey));
            await pair.Host.SetKvpAsync(GuestActivation.TokenKey, key.Token(VmId, "00112233445566778899aabbccddeeff"));
            Assert.Contains("answers another request", await Guest(pair, GuestActivation.StateKey));
            await pair.Host.SetKvpAsync(GuestActivation.TokenKey, "garbage");
            Assert.Contains("malformed", await Guest(pair, GuestActivation.StateKey));

            await pair.Host.SetKvpAsync(GuestActivation.TokenKey, key.Token(VmId, nonce));
            Assert.Equal(GuestActivation.Activated, await Guest(pair, GuestActivation.StateKey));
        }
        finally { Directory.Delete(keys, true); }
    }

    [Fact]
    public async Task An_agent_built_without_the_activation_key_is_never_activated()
    {
        await using var pair = await InProcessAgent.StartAsync(activationKey: []);
        Assert.Equal("", await Guest(pair, GuestActivation.RequestKey));
        Assert.Contains("carries no activation key", await Guest(pair, GuestActivation.StateKey));
    }

    [Fact]
    public void A_key_file_that_is_not_a_P256_private_key_is_refused_naming_the_file()
    {
        string file = Path.GetTempFileName();
        try
        {
            using (var rsa = RSA.Create(2048)) File.WriteAllText(file, rsa.ExportRSAPrivateKeyPem());
            var e = Assert.Throws<InvalidDataException>(() => ActivationKey.Load(file));
            Assert.Contains(file, e.Message);
        }
        finally { File.Delete(file); }
    }
}
