using System.Security.Cryptography;
using HyperSharp.Integration.Protocol;

namespace HyperSharp.Integration.Tests;

/// <summary>
/// Agent updates in one process (the agent's code over a socket pair): a newer agent signed by the publisher replaces
/// the executable atomically and the session ends for the restart; one that is not newer, signed by another key, or
/// whose bytes differ from what was signed changes nothing and leaves no file behind.
/// </summary>
public class AgentUpdateTests
{
    private static readonly ECDsa Publisher = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    private static byte[] PublicKey(ECDsa key)
    {
        var p = key.ExportParameters(false);
        return [0x04, .. p.Q.X!, .. p.Q.Y!];
    }

    /// <summary>A package folder: an "executable" of random bytes, its version, and <paramref name="signer"/>'s signature on both.</summary>
    private static AgentUpdatePackage Package(string folder, string version, ECDsa signer, Action<byte[]>? alterAfterSigning = null)
    {
        Directory.CreateDirectory(folder);
        var executable = RandomNumberGenerator.GetBytes(200_000);
        var statement = AgentUpdateStatement.For(version, Convert.ToHexStringLower(SHA256.HashData(executable)));
        File.WriteAllBytes(Path.Combine(folder, AgentUpdatePackage.SignatureName), signer.SignData(statement, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        File.WriteAllText(Path.Combine(folder, AgentUpdatePackage.VersionName), version + "\n");
        alterAfterSigning?.Invoke(executable);
        File.WriteAllBytes(Path.Combine(folder, AgentUpdatePackage.ExecutableName), executable);
        return AgentUpdatePackage.Load(folder);
    }

    private static async Task<InProcessAgent> AgentAsync(string build = "1.0.0")
    {
        var pair = await InProcessAgent.StartAsync(agentBuild: build, publisherKey: PublicKey(Publisher));
        Directory.CreateDirectory(Path.GetDirectoryName(pair.System.ExecutablePath)!);
        await File.WriteAllTextAsync(pair.System.ExecutablePath, "the old agent");
        return pair;
    }

    [Fact]
    public async Task A_newer_agent_signed_by_the_publisher_replaces_the_executable_and_the_agent_restarts()
    {
        await using var pair = await AgentAsync();
        Assert.Equal("hs-agent 1.0.0", pair.Host.Peer.Software);
        var package = Package(Path.Combine(pair.Folder, "update"), "1.0.1", Publisher);
        Assert.True(package.IsNewerThan(pair.Host.Peer.Software));
        await pair.Host.UpdateAsync(package);
        Assert.True(await pair.Running.WaitAsync(TimeSpan.FromSeconds(30)), "the session did not end for the restart");
        Assert.Equal(await File.ReadAllBytesAsync(package.ExecutablePath), await File.ReadAllBytesAsync(pair.System.ExecutablePath));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(pair.System.ExecutablePath)!)); // no temporary file left
    }

    public static TheoryData<string, string> Refusals => new()
    {
        { "not-newer", "is not newer" },
        { "other-key", "does not verify" },
        { "altered", "does not verify" }, // the host's hash is of the altered bytes; the signed statement is not
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task An_update_that_is_not_newer_not_the_publishers_or_altered_changes_nothing(string how, string reason)
    {
        await using var pair = await AgentAsync();
        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string folder = Path.Combine(pair.Folder, "update");
        var package = how switch
        {
            "not-newer" => Package(folder, "1.0.0", Publisher),
            "other-key" => Package(folder, "1.0.1", stranger),
            _ => Package(folder, "1.0.1", Publisher, bytes => bytes[1000] ^= 1),
        };
        var refused = await Assert.ThrowsAsync<GuestAgentException>(() => pair.Host.UpdateAsync(package));
        Assert.Contains(reason, refused.Message);
        Assert.Equal("the old agent", await File.ReadAllTextAsync(pair.System.ExecutablePath));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(pair.System.ExecutablePath)!));
        await pair.Host.HeartbeatAsync(); // the session goes on
        Assert.False(pair.Running.IsCompleted);
    }

    [Fact]
    public async Task An_agent_of_protocol_2_is_told_to_be_installed_rather_than_offered_an_update()
    {
        await using var pair = await InProcessAgent.StartAsync(agentVersion: ProtocolVersions.Exec);
        var package = Package(Path.Combine(pair.Folder, "update"), "9.0", Publisher);
        var e = await Assert.ThrowsAsync<GuestAgentException>(() => pair.Host.UpdateAsync(package));
        Assert.Contains($"needs protocol {ProtocolVersions.Update}", e.Message);
    }

    [Fact]
    public void An_incomplete_package_folder_is_refused_naming_what_is_missing()
    {
        string folder = Directory.CreateTempSubdirectory("hs-update").FullName;
        try
        {
            File.WriteAllText(Path.Combine(folder, AgentUpdatePackage.ExecutableName), "x");
            var e = Assert.Throws<FileNotFoundException>(() => AgentUpdatePackage.Load(folder));
            Assert.Contains(AgentUpdatePackage.VersionName, e.Message);
        }
        finally { Directory.Delete(folder, true); }
    }
}
