using HyperSharp.Guest.Linux;
using HyperSharp.Integration.Protocol;

namespace HyperSharp.Integration.Tests;

/// <summary>
/// Exec as a guest account (protocol 4, PowerShell Direct -Credential): the host never hands an account to an agent
/// that would ignore it, and the agent checks passwords against shadow hashes with the system's crypt(3). Becoming the
/// user is proven in the guest (PowerShellDirectGuestTests: `hs-agent runas` is the real agent binary).
/// </summary>
public class ExecAsUserTests
{
    // `openssl passwd -6 -salt hsdirect13 Pa55w.rd`
    private const string Sha512Hash = "$6$hsdirect13$GR2wn4TrUwSwyj4MoaJ2V0sODY6sSWZALAsXVZSbFzJyRxu5KVje5gXVpHTJhPvvryzSo4aedqu9/0GxQg/Eu/";

    [Fact]
    public async Task An_agent_older_than_protocol_4_is_never_sent_an_account_it_would_ignore()
    {
        await using var pair = await InProcessAgent.StartAsync(agentVersion: 3);
        var e = await Assert.ThrowsAsync<GuestAgentException>(() => pair.Host.StartAsync(["true"], user: "psuser", password: "Pa55w.rd"));
        Assert.Contains("speaks protocol 3; running a command as a guest account needs protocol 4", e.Message);
        var plain = await pair.Host.StartAsync(["true"]); // without an account it still runs
        Assert.Equal(0, (await plain.RunAsync(null, Stream.Null, Stream.Null)).ExitCode);
    }

    [Fact]
    public void Passwords_are_checked_against_the_shadow_hash_and_refusals_do_not_say_which_accounts_exist()
    {
        if (!System.Runtime.InteropServices.NativeLibrary.TryLoad("libcrypt.so.1", out _)) { Console.WriteLine("skipped: no libcrypt.so.1 on this host"); return; }
        string dir = Directory.CreateTempSubdirectory("hs-accounts").FullName;
        try
        {
            string passwd = Path.Combine(dir, "passwd"), shadow = Path.Combine(dir, "shadow");
            File.WriteAllLines(passwd, ["root:x:0:0:root:/root:/bin/sh", "psuser:x:1000:1000::/home/psuser:/bin/sh", "locked:x:1001:1001::/:/bin/sh", "open:x:1002:1002::/:/bin/sh"]);
            File.WriteAllLines(shadow, ["root:*:19000:0:99999:7:::", $"psuser:{Sha512Hash}:19000:0:99999:7:::", $"locked:!{Sha512Hash}:19000::::::", "open::19000::::::"]);
            Assert.Null(GuestAccounts.Check("psuser", "Pa55w.rd", passwd, shadow));
            Assert.Equal(GuestAccounts.WrongCredentials, GuestAccounts.Check("psuser", "Pa55w.rD", passwd, shadow));
            Assert.Equal(GuestAccounts.WrongCredentials, GuestAccounts.Check("nobody", "Pa55w.rd", passwd, shadow));
            Assert.Equal(GuestAccounts.WrongCredentials, GuestAccounts.Check("psuser:x", "Pa55w.rd", passwd, shadow));
            Assert.Equal("the account 'locked' is locked", GuestAccounts.Check("locked", "Pa55w.rd", passwd, shadow));
            Assert.Equal("the account 'root' is locked", GuestAccounts.Check("root", "", passwd, shadow));
            Assert.StartsWith("the account 'open' has no password", GuestAccounts.Check("open", "", passwd, shadow));
            Assert.Equal(new GuestAccounts.Account("psuser", 1000, 1000, "/home/psuser", "/bin/sh"), GuestAccounts.Find("psuser", passwd));
        }
        finally { Directory.Delete(dir, true); }
    }
}
