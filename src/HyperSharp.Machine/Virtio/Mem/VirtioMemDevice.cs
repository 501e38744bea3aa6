using System.Buffers.Binary;
using System.Collections;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;
using static HyperSharp.Machine.Virtio.Mem.VirtioMemConstants;

namespace HyperSharp.Machine.Virtio.Mem;

/// <summary>
/// virtio-mem (type 24, virtio 1.2 §5.15): memory the guest grows and shrinks by while it runs. The host sets the size
/// it wants plugged; the guest's driver plugs (or unplugs) 2 MiB blocks of the device's region until it matches, and
/// adds them to its memory (MemTotal grows). Unplugged blocks go back to the host.
/// </summary>
/// <remarks>
/// Why virtio-mem rather than ACPI memory hotplug (PNP0C80), though the stock Debian kernel has both (CONFIG_VIRTIO_MEM=m,
/// CONFIG_ACPI_HOTPLUG_MEMORY=y): virtio-mem grows and shrinks in 2 MiB steps through one device, and every step is a
/// request the guest makes and we answer, so the host always knows what the guest has; ACPI hotplug adds whole DIMMs
/// through AML and GPE notifications, and removing one needs the guest to empty all of it at once. The guest sees the
/// same thing either way: MemTotal grows (what a Hyper-V administrator watches with Dynamic Memory's hot-add). The
/// kernel onlines the memory itself when told to by memhp_default_state on its command line (Debian does not
/// auto-online), which the machine adds when a VM has hot-add memory.
/// The region is mapped whole the first time the host asks for memory; unplugged blocks inside it hold no host memory,
/// and the guest may read them (VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE is not offered), which Linux's kdump relies on.
/// </remarks>
public sealed class VirtioMemDevice(string name, GuestRam ram, HotAddRegion region, Action<string>? log = null) : IVirtioDevice
{
    private readonly DescriptorChain _chain = new();
    private readonly Lock _lock = new();
    private readonly BitArray _plugged = new((int)(region.Size / BlockSize));
    private IReadOnlyList<SplitVirtqueue?> _queues = [];
    private IVirtioInterrupts? _interrupts;
    private ulong _requested, _pluggedBytes;

    public string Name => name;
    public ushort DeviceType => VirtioMemConstants.DeviceType;
    public ulong DeviceFeatures => 1UL << 32;
    public int QueueCount => 1;
    public ushort MaxQueueSize => 128;
    public int ConfigSize => VirtioMemConstants.ConfigSize;

    /// <summary>Raised (on a device thread) when the guest plugged or unplugged memory.</summary>
    public event Action? Changed;

    public ulong RegionStart => region.Start;
    public ulong RegionSize => region.Size;

    /// <summary>Bytes the host asks the guest to have plugged.</summary>
    public ulong RequestedBytes { get { lock (_lock) return _requested; } }

    /// <summary>Bytes the guest has plugged (and so uses on top of its boot memory).</summary>
    public ulong PluggedBytes { get { lock (_lock) return _pluggedBytes; } }

    /// <summary>
    /// Asks the guest to have <paramref name="bytes"/> plugged (a multiple of 2 MiB, at most the region): it plugs towards
    /// a larger size and unplugs towards a smaller one. The first request maps the region into the guest.
    /// </summary>
    public void SetRequestedSize(ulong bytes)
    {
        if (bytes % BlockSize != 0 || bytes > region.Size)
            throw new ArgumentOutOfRangeException(nameof(bytes), $"{name}: {bytes} bytes of hot-added memory: a multiple of 2 MiB up to the VM's {region.Size >> 20} MiB");
        if (bytes > 0) region.EnsureMapped();
        lock (_lock) _requested = bytes;
        _interrupts?.ConfigChanged();
    }

    public void ReadConfig(int offset, Span<byte> data)
    {
        Span<byte> config = stackalloc byte[VirtioMemConstants.ConfigSize];
        config.Clear();
        lock (_lock)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(config[ConfigBlockSize..], BlockSize);
            BinaryPrimitives.WriteUInt64LittleEndian(config[ConfigAddress..], region.Start);
            BinaryPrimitives.WriteUInt64LittleEndian(config[ConfigRegionSize..], region.Size);
            BinaryPrimitives.WriteUInt64LittleEndian(config[ConfigUsableRegionSize..], region.Size);
            BinaryPrimitives.WriteUInt64LittleEndian(config[ConfigPluggedSize..], _pluggedBytes);
            BinaryPrimitives.WriteUInt64LittleEndian(config[ConfigRequestedSize..], _requested);
        }
        data.Clear();
        if (offset >= 0 && offset < config.Length) config[offset..Math.Min(config.Length, offset + data.Length)].CopyTo(data);
    }

    public void WriteConfig(int offset, ReadOnlySpan<byte> data) { } // read-only for the driver

    public void Activate(ulong features, IReadOnlyList<SplitVirtqueue?> queues, IVirtioInterrupts interrupts)
    {
        _queues = queues;
        _interrupts = interrupts;
    }

    public void ProcessQueue(int index)
    {
        var queue = index == 0 && _queues.Count > 0 ? _queues[0] : null;
        if (queue is null) return;
        Span<byte> request = stackalloc byte[RequestSize];
        Span<byte> response = stackalloc byte[ResponseSize];
        bool completed = false, changed = false;
        while (queue.TryPop(_chain))
        {
            uint written = 0;
            if (Gather(request) && FirstWritable(ResponseSize) is { } reply)
            {
                response.Clear();
                changed |= Serve(request, response);
                ram.Write(reply.Address, response);
                written = ResponseSize;
            }
            else log?.Invoke($"{name}: a request without {RequestSize} readable bytes and a {ResponseSize}-byte reply buffer");
            queue.Push(_chain.Head, written);
            completed = true;
        }
        if (completed && queue.ShouldInterrupt()) _interrupts?.QueueInterrupt(0);
        if (changed) Changed?.Invoke();
    }

    private bool Gather(Span<byte> request)
    {
        int have = 0;
        foreach (var buffer in _chain.Buffers)
        {
            if (buffer.DeviceWritable || have == request.Length) continue;
            int n = (int)Math.Min(buffer.Length, (uint)(request.Length - have));
            ram.Read(buffer.Address, request.Slice(have, n));
            have += n;
        }
        return have == request.Length;
    }

    private GuestBuffer? FirstWritable(int length)
    {
        foreach (var buffer in _chain.Buffers)
            if (buffer.DeviceWritable) return buffer.Length >= length ? buffer : null;
        return null;
    }

    /// <summary>Answers one request into <paramref name="response"/>; true when the plugged memory changed.</summary>
    private bool Serve(ReadOnlySpan<byte> request, Span<byte> response)
    {
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(request);
        ulong address = BinaryPrimitives.ReadUInt64LittleEndian(request[RequestAddress..]);
        ushort blocks = BinaryPrimitives.ReadUInt16LittleEndian(request[RequestBlocks..]);
        ushort answer = ResponseError;
        bool changed = false;
        lock (_lock)
        {
            if (type == RequestUnplugAll)
            {
                for (int b = 0; b < _plugged.Length; b++) if (_plugged[b]) Unplug(b);
                (answer, changed) = (ResponseAck, true);
            }
            else if (Blocks(address, blocks) is { } range)
            {
                int plugged = 0;
                for (int b = range.First; b < range.First + range.Count; b++) if (_plugged[b]) plugged++;
                switch (type)
                {
                    case RequestPlug when plugged == 0:
                        if (_pluggedBytes + (ulong)range.Count * BlockSize > _requested) { answer = ResponseNack; break; }
                        region.EnsureMapped(); // restored or requested earlier: mapped already; never plug unmapped memory
                        for (int b = range.First; b < range.First + range.Count; b++) _plugged[b] = true;
                        _pluggedBytes += (ulong)range.Count * BlockSize;
                        (answer, changed) = (ResponseAck, true);
                        break;
                    case RequestUnplug when plugged == range.Count:
                        for (int b = range.First; b < range.First + range.Count; b++) Unplug(b);
                        (answer, changed) = (ResponseAck, true);
                        break;
                    case RequestState:
                        answer = ResponseAck;
                        BinaryPrimitives.WriteUInt16LittleEndian(response[ResponseState..],
                            plugged == 0 ? StateUnplugged : plugged == range.Count ? StatePlugged : StateMixed);
                        break;
                }
            }
        }
        if (answer == ResponseError) log?.Invoke($"{name}: refused request {type} for {blocks} blocks at 0x{address:X} (outside the region, misaligned, or not in the state it needs)");
        BinaryPrimitives.WriteUInt16LittleEndian(response, answer);
        return changed;
    }

    /// <summary>The blocks a request names, or null when they are not whole blocks inside the region.</summary>
    private (int First, int Count)? Blocks(ulong address, ushort count)
    {
        if (count == 0 || address < region.Start || (address - region.Start) % BlockSize != 0) return null;
        ulong first = (address - region.Start) / BlockSize;
        return first + count > (ulong)_plugged.Length ? null : ((int)first, count);
    }

    /// <summary>Caller holds the lock.</summary>
    private void Unplug(int block)
    {
        ram.Discard(region.Start + (ulong)block * BlockSize, BlockSize);
        _plugged[block] = false;
        _pluggedBytes -= BlockSize;
    }

    /// <summary>A device reset leaves plugged memory as it is (virtio 1.2 §5.15.5): a new driver finds it and unplugs it all first.</summary>
    public void Reset()
    {
        _queues = [];
        _interrupts = null;
    }

    public VirtioMemState SaveState()
    {
        lock (_lock)
        {
            var bits = new byte[(_plugged.Length + 7) / 8];
            _plugged.CopyTo(bits, 0);
            return new VirtioMemState(region.Size, _requested, region.IsMapped, bits);
        }
    }

    /// <summary>Applies saved state to a freshly built device of the same region size; maps the region again if it was.</summary>
    public void RestoreState(VirtioMemState state)
    {
        if (state.RegionSize != region.Size || state.Plugged.Length != (_plugged.Length + 7) / 8)
            throw new InvalidDataException($"{name}: saved with {state.RegionSize >> 20} MiB of hot-add memory, rebuilt with {region.Size >> 20} MiB");
        if (state.RequestedSize > region.Size || state.RequestedSize % BlockSize != 0)
            throw new InvalidDataException($"{name}: saved asking for {state.RequestedSize} bytes, more than the region's {region.Size} or not whole blocks");
        if (state.Mapped || Array.Exists(state.Plugged, b => b != 0)) region.EnsureMapped();
        lock (_lock)
        {
            var bits = new BitArray(state.Plugged);
            _pluggedBytes = 0;
            for (int b = 0; b < _plugged.Length; b++)
            {
                _plugged[b] = bits[b];
                if (bits[b]) _pluggedBytes += BlockSize;
            }
            _requested = state.RequestedSize;
        }
    }
}
