namespace HyperSharp.Vhdx.Vhdx;

/// <summary>
/// Updates the two VHDX headers the safe way (MS-VHDX 2.2.2.1): write the non-current slot with
/// the next sequence number and flush, then do it again so both copies hold the new values.
/// </summary>
internal sealed class HeaderWriter(VhdxStorage storage, VhdxHeader current, int slot)
{
    public VhdxHeader Current { get; private set; } = current;
    public int Slot { get; private set; } = slot;

    public void Update(Func<VhdxHeader, VhdxHeader> change)
    {
        var target = change(Current);
        var buffer = new byte[VhdxFormat.HeaderSize];
        for (int copy = 0; copy < 2; copy++)
        {
            var next = target with { SequenceNumber = Current.SequenceNumber + 1 };
            int nextSlot = 1 - Slot;
            next.WriteTo(buffer);
            storage.Write(nextSlot == 0 ? VhdxFormat.Header1Offset : VhdxFormat.Header2Offset, buffer);
            storage.Flush();
            Current = next;
            Slot = nextSlot;
        }
    }
}
