using HyperSharp.Machine.Virtio.Queue;
using static HyperSharp.Machine.Virtio.Pci.VirtioPciLayout;

namespace HyperSharp.Machine.Virtio.Pci;

public sealed partial class VirtioPciDevice
{
    private IReadOnlyList<SplitVirtqueue?> _activeQueues = [];

    public VirtioPciState SaveState() => WithQueuesQuiet(() =>
    {
        lock (_lock)
        {
            var queues = _queues.Select((q, i) =>
            {
                var live = i < _activeQueues.Count ? _activeQueues[i] : null;
                return new VirtioQueueState(q.Size, q.MsixVector, q.Enabled, q.Descriptors, q.Driver, q.Device, live?.LastAvailable ?? 0, live?.UsedIndex ?? 0);
            }).ToArray();
            var pending = new byte[(_msix.Count + 7) / 8];
            _msix.ReadPending(0, pending);
            var table = new byte[_msix.Count * 16];
            _msix.ReadTable(0, table);
            return new VirtioPciState(Config.Raw.ToArray(), _driverFeatures, _status, _generation, _isr, _configVector, _queueSelect, queues, table, pending);
        }
    });

    /// <summary>Applies saved state to a freshly built device; live queues are re-activated at their saved positions.</summary>
    public void RestoreState(VirtioPciState s)
    {
        lock (_lock)
        {
            s.ConfigSpace.AsSpan(0, Math.Min(s.ConfigSpace.Length, Config.Raw.Length)).CopyTo(Config.Raw);
            (_driverFeatures, _status, _generation, _isr, _configVector, _queueSelect) = (s.DriverFeatures, s.Status, s.Generation, s.Isr, s.ConfigVector, s.QueueSelect);
            _msix.WriteTable(0, s.MsixTable);
            for (int v = 0; v < _msix.Count; v++)
                if (v / 8 < s.MsixPending.Length && (s.MsixPending[v / 8] & (1 << (v % 8))) != 0) _msix.SetPending(v);
            for (int i = 0; i < _queues.Length && i < s.Queues.Length; i++)
            {
                var q = s.Queues[i];
                (_queues[i].Size, _queues[i].MsixVector, _queues[i].Enabled, _queues[i].Descriptors, _queues[i].Driver, _queues[i].Device) =
                    (q.Size, q.MsixVector, q.Enabled, q.Descriptors, q.Driver, q.Device);
            }
            if ((_status & StatusDriverOk) != 0 && (_status & StatusNeedsReset) == 0)
            {
                Activate([.. s.Queues.Select(q => (q.LastAvailable, q.UsedIndex))]);
            }
            if (_isr != 0 && !MsixEnabled) SetIntx(true);
        }
    }
}
