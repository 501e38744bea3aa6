namespace HyperSharp.Machine.Devices;

/// <summary>
/// A bus (port I/O or MMIO): dispatches a vCPU's exit to the device at that address. Unclaimed
/// addresses read as all-ones and ignore writes, as on a PC; a device that throws gives all-ones
/// and a rate-limited log line, never an exception through the vCPU loop.
/// </summary>
public sealed class IoBus<TDevice>(string name, DeviceErrorLog errors) where TDevice : class, IIoDevice
{
    private readonly IoRangeMap<TDevice> _map = new(name);

    public void Add(ulong address, ulong length, TDevice device) => _map.Add(address, length, device, device.Name);

    public bool Remove(TDevice device) => _map.Remove(device);

    public void Read(ulong address, Span<byte> data)
    {
        if (!_map.TryFind(address, out var device, out ulong offset, out string deviceName)) { data.Fill(0xFF); return; }
        try { device.Read(offset, data); }
        catch (Exception e) { data.Fill(0xFF); errors.Report(name, deviceName, address, e); }
    }

    public void Write(ulong address, ReadOnlySpan<byte> data)
    {
        if (!_map.TryFind(address, out var device, out ulong offset, out string deviceName)) return;
        try { device.Write(offset, data); }
        catch (Exception e) { errors.Report(name, deviceName, address, e); }
    }
}
