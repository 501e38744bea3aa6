using Xunit.Abstractions;
using HyperSharp.Inventory.Platform;

namespace HyperSharp.Host.Tests;

/// <summary>
/// A client that is not root names only files it may use itself: the host checks each path with the client's own
/// credentials (SO_PEERCRED on the API socket) — readable for kernels and initrds, writable for disks. The socket is
/// opened to everyone here only to stand in for membership of the hypersharp group.
/// </summary>
public class ClientRightsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AClientWhoIsNotRootCannotNameFilesItCouldNotOpenItself()
    {
        if (OtherUser.Unavailable() is { } why) { output.WriteLine($"skipped: {why}"); return; }
        await using var host = await HostFixture.StartAsync(output);
        await host.StopHostAsync();
        string shared = Directory.CreateDirectory(Path.Combine("/tmp", "hs-pub-" + Guid.NewGuid().ToString("N")[..10])).FullName;
        try
        {
            File.SetUnixFileMode(shared, (UnixFileMode)0b111_101_101);
            string socket = Path.Combine(shared, "api.sock");
            await using var server = await HostServer.StartAsync(new HostServerOptions { InventoryRoot = host.Root, SocketPath = socket, WorkerCommand = HostFixture.WorkerCommand });
            File.SetUnixFileMode(socket, (UnixFileMode)0b110_110_110);

            string secret = Path.Combine(shared, "secret.elf"), open = Path.Combine(shared, "open.elf");
            File.WriteAllBytes(secret, TestGuests.Idle());
            File.SetUnixFileMode(secret, (UnixFileMode)0b110_000_000);
            File.WriteAllBytes(open, TestGuests.Idle());
            File.SetUnixFileMode(open, (UnixFileMode)0b110_100_100);
            string theirs = Path.Combine(shared, "theirs.vhdx"), own = Path.Combine(shared, "own.vhdx");
            foreach (var disk in new[] { theirs, own }) HyperSharp.Vhdx.VirtualDisk.Create(disk, new HyperSharp.Vhdx.DiskCreateOptions { Capacity = 16L << 20 }).Dispose();
            File.SetUnixFileMode(theirs, (UnixFileMode)0b110_100_100);
            File.SetUnixFileMode(own, (UnixFileMode)0b110_000_000);
            HyperSharp.Inventory.Platform.Posix.Chown(own, OtherUser.Nobody, OtherUser.Nobody);

            var shadow = await OtherUser.HyperAsync(output, "vm", "new", "evil", "--kernel", "/etc/shadow", "--host-socket", socket);
            Assert.Equal(1, shadow.Exit);
            Assert.Contains("/etc/shadow", shadow.Error);
            var unreadable = await OtherUser.HyperAsync(output, "vm", "new", "evil", "--kernel", secret, "--host-socket", socket);
            Assert.Equal(1, unreadable.Exit);
            Assert.Contains($"{secret}: permission denied", unreadable.Error);

            Assert.Equal(0, (await OtherUser.HyperAsync(output, "vm", "new", "fine", "--kernel", open, "--memory", "32MB", "--host-socket", socket)).Exit);
            var readOnly = await OtherUser.HyperAsync(output, "vm", "disk", "add", "fine", theirs, "--host-socket", socket);
            Assert.Equal(1, readOnly.Exit);
            Assert.Contains($"{theirs}: permission denied", readOnly.Error);
            Assert.Equal(0, (await OtherUser.HyperAsync(output, "vm", "disk", "add", "fine", own, "--host-socket", socket)).Exit);

            // Root is not checked, as before.
            Assert.Equal(0, CliRunner.Run(output, "vm", "disk", "add", "fine", theirs, "--host-socket", socket).Exit);
        }
        finally { Directory.Delete(shared, recursive: true); }
    }
}
