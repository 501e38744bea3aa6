using System.Buffers.Binary;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;

namespace HyperSharp.Machine.Virtio.Scsi;

/// <summary>
/// Runs one request-queue entry: reads the request header (LUN address, CDB) from the device-readable bytes, has the
/// target execute the CDB against the data areas, and writes the response (sense length, residual, status, virtio
/// response, fixed-format sense) to the device-writable bytes. A request for another target is BAD_TARGET; a LUN beyond
/// the 64 is a LUN that is not there; a header cut short is FAILURE. Only a chain with no room for a response at all is
/// a queue error. Nothing here allocates.
/// </summary>
internal sealed class VirtioScsiRequestHandler(GuestRam ram, ScsiTarget target)
{
    /// <summary>Executes the request; returns the bytes written to device-writable buffers (for the used ring).</summary>
    public uint Execute(DescriptorChain chain, int cdbSize, int senseSize)
    {
        int requestSize = VirtioScsi.RequestHeaderSize + cdbSize, responseSize = VirtioScsi.ResponseHeaderSize + senseSize;
        var data = new ScsiDataBuffers(ram, chain, requestSize, responseSize);
        if (data.WritableBytes < VirtioScsi.ResponseHeaderSize)
            throw new VirtqueueException($"a SCSI request has {data.WritableBytes} device-writable bytes, less than the {VirtioScsi.ResponseHeaderSize}-byte response header");

        Span<byte> request = stackalloc byte[VirtioScsi.RequestHeaderSize + VirtioScsi.MaxCdbSize];
        request = request[..requestSize];
        request.Clear();
        int got = data.ReadRequest(request);
        ScsiOutcome outcome;
        if (got <= VirtioScsi.RequestHeaderSize) outcome = ScsiOutcome.Transport(VirtioScsi.ResponseFailure);
        else if (request[0] != 1 || request[1] != 0) outcome = ScsiOutcome.Transport(VirtioScsi.ResponseBadTarget); // one target per controller
        else
        {
            int lun = LunOf(request);
            outcome = target.Execute(lun, request[VirtioScsi.RequestHeaderSize..got], data);
        }
        return Respond(data, outcome, senseSize);
    }

    /// <summary>
    /// The LUN a request is for, read from its header before it runs (Storage QoS is kept per LUN), and the bytes it moves
    /// (its data-out and data-in areas, what Storage QoS counts); LUN -1 for a request without a plain address of our target.
    /// </summary>
    public (int Lun, ulong DataBytes) Peek(DescriptorChain chain, int cdbSize, int senseSize)
    {
        var data = new ScsiDataBuffers(ram, chain, VirtioScsi.RequestHeaderSize + cdbSize, VirtioScsi.ResponseHeaderSize + senseSize);
        Span<byte> address = stackalloc byte[8];
        bool whole = data.ReadRequest(address) == address.Length && address[0] == 1 && address[1] == 0;
        int lun = whole ? LunOf(address) : -1;
        return (lun is >= 0 and < VirtioScsi.LunCount ? lun : -1, (ulong)(data.OutLength + data.InLength));
    }

    /// <summary>
    /// The LUN of a virtio-scsi address (lun[0] = 1, lun[1] = target, lun[2..3] the single-level LUN, flat or peripheral
    /// format); anything that is not a plain single-level LUN maps beyond the table, where no LUN is.
    /// </summary>
    internal static int LunOf(ReadOnlySpan<byte> address)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(address[4..]) != 0) return int.MaxValue;
        int method = address[2] >> 6;
        return method is 0 or 1 ? ((address[2] & 0x3F) << 8) | address[3] : int.MaxValue;
    }

    private static uint Respond(in ScsiDataBuffers data, ScsiOutcome outcome, int senseSize)
    {
        Span<byte> response = stackalloc byte[VirtioScsi.ResponseHeaderSize + VirtioScsi.MaxSenseSize];
        response = response[..(VirtioScsi.ResponseHeaderSize + senseSize)];
        response.Clear();
        int senseLength = outcome.Status == ScsiOp.StatusCheckCondition ? outcome.Sense.WriteFixed(response[VirtioScsi.ResponseHeaderSize..]) : 0;
        long residual = data.InLength > 0 ? data.InLength - outcome.DataIn
            : outcome.Status == ScsiOp.StatusGood && outcome.Response == VirtioScsi.ResponseOk ? 0 : data.OutLength;
        BinaryPrimitives.WriteUInt32LittleEndian(response, (uint)senseLength);
        BinaryPrimitives.WriteUInt32LittleEndian(response[4..], (uint)Math.Clamp(residual, 0, uint.MaxValue));
        response[10] = outcome.Status;
        response[11] = outcome.Response;
        int written = data.WriteResponse(response);
        return (uint)(written + outcome.DataIn);
    }
}
