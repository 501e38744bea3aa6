using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>The API socket is the access control: a user outside root and the `hypersharp` group is refused.</summary>
public class AuthorizationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AUserOutsideRootAndTheHypersharpGroupIsRefused()
    {
        if (OtherUser.Unavailable() is { } why) { output.WriteLine($"skipped: {why}"); return; }
        await using var host = await HostFixture.StartAsync(output);
        var mode = File.GetUnixFileMode(host.SocketPath);
        bool hasGroup = File.ReadLines("/etc/group").Any(l => l.StartsWith("hypersharp:", StringComparison.Ordinal));
        Assert.Equal(hasGroup ? (UnixFileMode)0b110_110_000 : (UnixFileMode)0b110_000_000, mode);

        // `hyper vm list` as nobody (not root, not in the group): the connection itself is refused.
        var refused = await OtherUser.HyperAsync(output, "vm", "list", "--host-socket", host.SocketPath);
        Assert.Equal(1, refused.Exit);
        Assert.Contains("permission denied", refused.Error);
    }
}
