using System.Net.Sockets;
using System.Text;
using HyperSharp.Machine.Virtio.Vsock;

namespace HyperSharp.Machine.Tests.Virtio;

/// <summary>
/// virtio-vsock against a driver that lays out buffers as Linux does: connections both ways through the VM's Unix socket
/// (Firecracker's CONNECT model), credit-based flow control, clean shutdown, transport reset on restore, and hostile
/// packets refused without harm.
/// </summary>
public sealed class VirtioVsockTests : IDisposable
{
    private const ushort Request = 1, Response = 2, Rst = 3, Shutdown = 4, Rw = 5, CreditUpdate = 6;
    private readonly string _dir = Directory.CreateTempSubdirectory("hs-vsock").FullName;
    private string SocketPath => Path.Combine(_dir, "v.sock");

    public void Dispose() => Directory.Delete(_dir, true);

    private Socket HostListener(uint port)
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint($"{SocketPath}_{port}"));
        listener.Listen(4);
        return listener;
    }

    /// <summary>A guest connection from <paramref name="guestPort"/> accepted by a host listener at socket_<paramref name="hostPort"/>.</summary>
    private (Socket Listener, Socket Host) Established(VsockGuestDriver guest, uint guestPort, uint hostPort, uint bufAlloc = 65536)
    {
        var listener = HostListener(hostPort);
        guest.Send(Request, guestPort, hostPort, bufAlloc: bufAlloc);
        Assert.Equal(Response, guest.Receive().Header.Op);
        return (listener, listener.Accept());
    }

    /// <summary>A host process dialling guest port <paramref name="port"/> through the VM's socket.</summary>
    private Socket ConnectFromHost(uint port)
    {
        var host = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        host.Connect(new UnixDomainSocketEndPoint(SocketPath));
        host.Send(Encoding.ASCII.GetBytes($"CONNECT {port}\n"));
        return host;
    }

    private static string ReadExactly(Socket s, int n)
    {
        var buffer = new byte[n];
        s.ReceiveTimeout = 10_000;
        int have = 0;
        while (have < n) { int got = s.Receive(buffer, have, n - have, SocketFlags.None); if (got == 0) break; have += got; }
        return Encoding.ASCII.GetString(buffer, 0, have);
    }

    private static int ReadAll(Socket s)
    {
        s.ReceiveTimeout = 10_000;
        var buffer = new byte[65536];
        int total = 0, n;
        while ((n = s.Receive(buffer)) > 0) total += n;
        return total;
    }

    [Fact]
    public void GuestConnectsToAHostListener_MovesDataBothWays_AndClosesCleanly()
    {
        using var guest = new VsockGuestDriver(SocketPath);
        using var listener = HostListener(5000);
        guest.Send(Request, 1024, 5000);
        var (response, _) = guest.Receive();
        Assert.Equal(Response, response.Op);
        Assert.Equal((2UL, 5000u, 3UL, 1024u), (response.SourceCid, response.SourcePort, response.DestinationCid, response.DestinationPort));
        Assert.Equal(VsockConnection.BufferSize, response.BufferAllocation);
        using var host = listener.Accept();

        guest.Send(Rw, 1024, 5000, "hello from the guest"u8);
        Assert.Equal("hello from the guest", ReadExactly(host, 20));

        host.Send("hello from the host"u8);
        var (data, payload) = guest.Receive();
        Assert.Equal(Rw, data.Op);
        Assert.Equal("hello from the host", Encoding.ASCII.GetString(payload));

        host.Shutdown(SocketShutdown.Send); // the host is done sending: the guest hears SHUTDOWN(SEND)
        var (shutdown, _) = guest.Receive();
        Assert.Equal((Shutdown, 2u), (shutdown.Op, shutdown.Flags));
        guest.Send(Shutdown, 1024, 5000, flags: 3); // the guest closes its socket: the device answers RST and forgets it
        Assert.Equal(Rst, guest.Receive().Header.Op);
        Assert.Equal(0, guest.Device.ConnectionCount);
        Assert.Equal("", ReadExactly(host, 1)); // and the host side is closed
    }

    [Fact]
    public void HostConnectsWithConnectLine_GetsOkAndAStream()
    {
        using var guest = new VsockGuestDriver(SocketPath);
        using var host = ConnectFromHost(80);
        var (request, _) = guest.Receive();
        Assert.Equal((Request, 80u, 2UL), (request.Op, request.DestinationPort, request.SourceCid));
        Assert.True(request.SourcePort >= 1u << 30, "host-side ports start at 2^30");
        guest.Send(Response, 80, request.SourcePort);
        Assert.Equal($"OK {request.SourcePort}\n", ReadExactly(host, $"OK {request.SourcePort}\n".Length));
        host.Send("GET /"u8);
        Assert.Equal("GET /", Encoding.ASCII.GetString(guest.Receive().Payload));
        guest.Send(Rw, 80, request.SourcePort, "200 OK"u8);
        Assert.Equal("200 OK", ReadExactly(host, 6));
    }

    [Fact]
    public void AGuestRefusal_ClosesTheHostConnectionWithoutOk()
    {
        using var guest = new VsockGuestDriver(SocketPath);
        using var host = ConnectFromHost(81);
        var (request, _) = guest.Receive();
        guest.Send(Rst, 81, request.SourcePort); // nobody listens on 81 in the guest
        Assert.Equal("", ReadExactly(host, 1));
    }

    [Fact]
    public void HostData_WaitsForTheGuestsCredit()
    {
        using var guest = new VsockGuestDriver(SocketPath);
        var (listener, host) = Established(guest, 1025, 5001, bufAlloc: 4096);
        using var _ = listener;
        using var __ = host;
        host.Send(new byte[10_000]);
        int received = 0;
        while (received < 4096) received += guest.Receive().Payload.Length;
        Assert.Equal(4096, received);
        Assert.Throws<TimeoutException>(() => guest.Receive(TimeSpan.FromMilliseconds(300))); // no credit left: nothing more comes
        guest.Send(CreditUpdate, 1025, 5001, bufAlloc: 4096, fwdCnt: 4096); // the guest's application read it all
        while (received < 8192) received += guest.Receive().Payload.Length;
        Assert.Equal(8192, received);
    }

    [Fact]
    public void HostileTraffic_IsRefusedAndLogged_AndTheDeviceKeepsWorking()
    {
        using var guest = new VsockGuestDriver(SocketPath);
        guest.Send(Request, 2000, 6000); // nobody listens at SocketPath_6000
        var (rst, _) = guest.Receive();
        Assert.Equal((Rst, 6000u, 2000u), (rst.Op, rst.SourcePort, rst.DestinationPort));

        guest.Send(Rw, 2001, 6001, "x"u8, length: 100_000);         // a length beyond the buffer and the limit
        Assert.Equal(Rst, guest.Receive().Header.Op);
        guest.Send(Rw, 2002, 6002, headerBytes: 20);                 // half a header: skipped
        guest.Send(Rw, 2003, 6003, "x"u8, srcCid: 7);                // someone else's CID: dropped
        guest.Send(Request, 2004, 6004, type: 2);                    // SEQPACKET was not offered
        Assert.Equal(Rst, guest.Receive().Header.Op);
        Assert.False(guest.HasReceived);

        var (listener, host) = Established(guest, 2005, 6005);
        using var _ = listener;
        using var __ = host;
        // The guest was told 256 KiB of credit and sends 300,000 bytes in one go (one notify): the connection is reset.
        var chunk = new byte[60_000];
        for (int i = 0; i < 5; i++) guest.Send(Rw, 2005, 6005, chunk, notify: i == 4);
        var reset = guest.Receive();
        while (reset.Header.Op == CreditUpdate) reset = guest.Receive();
        Assert.Equal(Rst, reset.Header.Op);
        Assert.InRange(ReadAll(host), 1, 240_000); // the host got what the kernel took before the reset (held bytes are dropped), then end of file

        lock (guest.Log)
        {
            string log = string.Join("\n", guest.Log);
            Assert.Contains("nothing listens", log);
        }
        Assert.Equal(0, guest.Device.ConnectionCount);
    }

    [Fact]
    public void AFloodOfStrayPackets_WaitsForReceiveBuffersInsteadOfGrowing()
    {
        using var guest = new VsockGuestDriver(SocketPath, rxBuffers: 0);
        for (uint i = 0; i < 200; i++) guest.Send(Rw, 3000 + i, 7000, "x"u8); // each deserves an RST, and there is nowhere to put one
        Assert.True(guest.Tx.UsedIndex < 200, $"the device took {guest.Tx.UsedIndex} packets with no receive buffer to answer them");
        guest.PostRx(16);
        int resets = 0;
        while (resets < 200) { Assert.Equal(Rst, guest.Receive().Header.Op); resets++; }
        Assert.Equal(200, guest.Tx.UsedIndex);
    }

    [Fact]
    public void ADriverReset_ClosesEveryHostConnection()
    {
        using var guest = new VsockGuestDriver(SocketPath);
        var (listener, host) = Established(guest, 1027, 5003);
        using var _ = listener;
        using var __ = host;
        guest.Device.Reset(); // the guest's driver wrote status 0 (unloaded, or the guest rebooting)
        Assert.Equal("", ReadExactly(host, 1));
        Assert.Equal(0, guest.Device.ConnectionCount);
    }

    [Fact]
    public void Restore_ResetsTheTransport_AndClosesHostConnections()
    {
        using var guest = new VsockGuestDriver(SocketPath);
        var (listener, host) = Established(guest, 1026, 5002);
        using var _ = listener;
        using var __ = host;
        var state = guest.Device.SaveState();
        Assert.Equal(3UL, state.GuestCid);
        var record = HyperSharp.Hypervisor.State.SavedRecord.Of(state);
        Assert.Equal(state, record.Read<VirtioVsockState>("vsock"));          // the record round-trips
        Assert.Throws<HyperSharp.Hypervisor.State.StateVersionException>(() => (record with { Version = 99 }).Read<VirtioVsockState>("vsock")); // a newer one is refused
        Assert.Equal("", ReadExactly(host, 1)); // saving closed the host side
        guest.Device.RestoreState(state);
        guest.PostEventBuffer();
        Assert.Equal(0u, guest.ReceiveEvent()); // VIRTIO_VSOCK_EVENT_TRANSPORT_RESET
        Assert.Throws<InvalidDataException>(() => guest.Device.RestoreState(state with { GuestCid = 9 }));
    }
}
