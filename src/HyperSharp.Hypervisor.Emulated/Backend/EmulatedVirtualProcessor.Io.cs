using System.Buffers.Binary;
using HyperSharp.Hypervisor.State;

namespace HyperSharp.Hypervisor.Emulated.Backend;

internal sealed partial class EmulatedVirtualProcessor
{
    private ulong ApicPage => _cpu.TryReadMsr(0x1B, out ulong b) ? b & ~0xFFFUL : 0xFEE0_0000;

    public void MmioRead(ulong address, Span<byte> data)
    {
        if (address - ApicPage < 0x1000) { Put(data, _apic.Read((int)(address - ApicPage))); return; }
        if (_partition.Platform.IsIoApic(address)) { Put(data, _partition.Platform.IoApic.Read(address & 0xFF)); return; }
        if (_partition.IoDispatcher is { } bus) { bus.MmioRead(address, data); return; }
        int size = Math.Min(data.Length, _exitData.Length);
        Exit(ExitKind.Mmio, address, size, false);
        _exitData.AsSpan(0, size).CopyTo(data);
    }

    public void MmioWrite(ulong address, ReadOnlySpan<byte> data)
    {
        if (address - ApicPage < 0x1000) { _apic.Write((int)(address - ApicPage), Get(data)); UpdateInterruptLine(); return; }
        if (_partition.Platform.IsIoApic(address)) { _partition.Platform.IoApic.Write(address & 0xFF, Get(data)); return; }
        if (_partition.RingDoorbell(AddressSpace.Mmio, address, data.Length, Get64(data))) return;
        if (_partition.IoDispatcher is { } bus) { bus.MmioWrite(address, data); return; }
        int size = Math.Min(data.Length, _exitData.Length);
        data[..size].CopyTo(_exitData);
        Exit(ExitKind.Mmio, address, size, true);
    }

    public uint PortRead(ushort port, int size)
    {
        if (_partition.Platform.TryPortRead(port, size, out uint value)) return value;
        if (_partition.IoDispatcher is { } bus)
        {
            Span<byte> bytes = stackalloc byte[4];
            bytes.Clear();
            bus.PortRead(port, bytes[..size]);
            return BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        }
        Exit(ExitKind.PortIo, port, size, false);
        return size switch { 1 => _exitData[0], 2 => BinaryPrimitives.ReadUInt16LittleEndian(_exitData), _ => BinaryPrimitives.ReadUInt32LittleEndian(_exitData) };
    }

    public void PortWrite(ushort port, int size, uint value)
    {
        if (_partition.Platform.TryPortWrite(port, size, value)) { UpdateInterruptLine(); return; }
        if (_partition.RingDoorbell(AddressSpace.Port, port, size, value)) return;
        if (_partition.IoDispatcher is { } bus)
        {
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
            bus.PortWrite(port, bytes[..size]); // an interrupt it raises reaches the APICs through the partition, which kicks us
            return;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(_exitData, value);
        Exit(ExitKind.PortIo, port, size, true);
    }

    private static void Put(Span<byte> data, uint value)
    {
        for (int i = 0; i < data.Length; i++) data[i] = i < 4 ? (byte)(value >> (8 * i)) : (byte)0;
    }

    private static uint Get(ReadOnlySpan<byte> data)
    {
        uint v = 0;
        for (int i = 0; i < data.Length && i < 4; i++) v |= (uint)data[i] << (8 * i);
        return v;
    }

    private static ulong Get64(ReadOnlySpan<byte> data)
    {
        ulong v = 0;
        for (int i = 0; i < data.Length && i < 8; i++) v |= (ulong)data[i] << (8 * i);
        return v;
    }

    /// <summary>
    /// The contract says state is read between instructions: the processor thread parks at the next
    /// block boundary (finishing any I/O instruction in flight) before the state is taken.
    /// </summary>
    public VirtualProcessorState GetState()
    {
        ParkAtBoundary();
        byte[] apic = SavedRecord.Of(_apic.SaveState()).Pack();
        return EmulatedStateMapping.ToRecord(_cpu.GetState(), _runState, apic);
    }

    public void SetState(VirtualProcessorState state)
    {
        ParkAtBoundary();
        _cpu.SetState(EmulatedStateMapping.FromRecord(state));
        _runState = state.RunState == ProcessorRunState.Halted ? ProcessorRunState.Runnable : state.RunState;
        // The local APIC as this backend saved it (the machine refuses another backend's saved state): a packed
        // record since processor-state version 2, JSON before. A state built by hand has none and leaves the APIC as it is.
        if (state.LocalApic.Length > 0)
        {
            string name = $"processor {Id} local APIC";
            _apic.RestoreState(state.EncodingVersion >= 2
                ? SavedRecord.Unpack(state.LocalApic, name).Read<HyperSharp.Hypervisor.Platform.LocalApicState>(name)
                : HyperSharp.Hypervisor.Platform.LocalApicState.FromJson(state.LocalApic, name));
        }
        UpdateInterruptLine();
    }

    /// <summary>
    /// Called between Runs. Before the first Run the processor has no thread and is at a boundary
    /// already; after an I/O exit, it is released to finish that instruction and stops at the next
    /// boundary, which the caller sees as nothing (no exit is lost: the park exit is consumed here).
    /// </summary>
    private void ParkAtBoundary()
    {
        if (_thread is null || _exitKind == ExitKind.Cancelled) return;
        _parkRequested = true;
        _cpu.RequestStop();
        _wake.Set();
        _resume.Signal();
        _exitReady.Wait();
        _parkRequested = false;
        _stopRequested = false;
    }
}
