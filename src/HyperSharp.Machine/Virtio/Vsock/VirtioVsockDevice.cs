using System.Buffers.Binary;
using HyperSharp.Machine.Devices;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;

namespace HyperSharp.Machine.Virtio.Vsock;

/// <summary>
/// virtio-vsock (type 19): stream sockets between the guest and host processes, reached through the VM's Unix socket
/// (<see cref="VsockUnixListener"/>: host processes connect to guest ports; the guest's connections to port P reach a
/// host listener at <c>socket_P</c>). Rx, tx and event queues; the guest's CID in configuration space; credit-based
/// flow control per connection (<see cref="VsockMuxer"/>). Saving or restoring the VM resets every connection.
/// </summary>
public sealed class VirtioVsockDevice : IVirtioDevice, IDisposable
{
    private readonly VsockMuxer _muxer;
    private readonly VsockUnixListener _listener;

    /// <param name="socketPath">the VM's vsock Unix socket (created here; guest connections go to <c>socketPath_PORT</c>)</param>
    /// <param name="guestCid">the guest's context ID: 3 or more (0-2 are reserved, and 2^32-1 is VMADDR_CID_ANY)</param>
    public VirtioVsockDevice(string name, GuestRam ram, string socketPath, ulong guestCid, Action<string> log)
    {
        if (guestCid < 3 || guestCid >= uint.MaxValue) throw new ArgumentOutOfRangeException(nameof(guestCid), $"guest CID {guestCid}: 3 to {uint.MaxValue - 1} are allowed");
        Name = name;
        GuestCid = guestCid;
        SocketPath = socketPath;
        var refusals = new DeviceErrorLog(log);
        _muxer = new VsockMuxer(name, ram, () => GuestCid, socketPath, refusals);
        _listener = new VsockUnixListener(socketPath, _muxer.ConnectFromHost, refusals);
    }

    public string Name { get; }
    public ulong GuestCid { get; }
    public string SocketPath { get; }

    /// <summary>Connections open now.</summary>
    public int ConnectionCount => _muxer.ConnectionCount;

    public ushort DeviceType => Vsock.DeviceType;
    public ulong DeviceFeatures => 1UL << 32 /* VERSION_1 */ | 1UL << 28 /* INDIRECT_DESC */; // stream only (no SEQPACKET bit)
    public int QueueCount => 3;
    public ushort MaxQueueSize => 256;
    public int ConfigSize => Vsock.ConfigSize;

    public void ReadConfig(int offset, Span<byte> data)
    {
        Span<byte> config = stackalloc byte[Vsock.ConfigSize];
        BinaryPrimitives.WriteUInt64LittleEndian(config, GuestCid);
        data.Clear();
        if (offset >= 0 && offset < config.Length) config.Slice(offset, Math.Min(data.Length, config.Length - offset)).CopyTo(data);
    }

    public void WriteConfig(int offset, ReadOnlySpan<byte> data) { } // the CID is the host's to choose

    public void Activate(ulong features, IReadOnlyList<SplitVirtqueue?> queues, IVirtioInterrupts interrupts) => _muxer.Attach(queues, interrupts);

    public void ProcessQueue(int index) => _muxer.Process();

    public void Reset() => _muxer.Detach();

    /// <summary>Saving (the VM is paused, so the device is leaving guest memory alone): every connection is reset.</summary>
    public VirtioVsockState SaveState()
    {
        _muxer.ResetForSave();
        return new VirtioVsockState(GuestCid);
    }

    /// <summary>The VM paused: no guest memory is touched (host sockets wait) until <see cref="Resumed"/>.</summary>
    public void Paused() => _muxer.Freeze();

    public void RestoreState(VirtioVsockState state)
    {
        if (state.GuestCid != GuestCid) throw new InvalidDataException($"{Name}: saved with guest CID {state.GuestCid}, rebuilt with {GuestCid}");
        _muxer.ResetTransport();
    }

    /// <summary>The VM runs again: what waited is served (after a save, the guest hears that its connections were reset).</summary>
    public void Resumed() => _muxer.Thaw();

    public void Dispose()
    {
        _listener.Dispose();
        _muxer.Dispose();
    }
}
