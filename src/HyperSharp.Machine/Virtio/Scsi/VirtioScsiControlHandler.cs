using System.Buffers.Binary;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;

namespace HyperSharp.Machine.Virtio.Scsi;

/// <summary>
/// The control queue: task management and asynchronous-notification requests. Every command completes before its
/// request is returned, so there is never a task left to abort or reset: task management functions complete at once
/// (BAD_TARGET for another target). No asynchronous notification events are offered (event_actual 0).
/// </summary>
internal sealed class VirtioScsiControlHandler(GuestRam ram)
{
    public uint Execute(DescriptorChain chain)
    {
        var data = new ScsiDataBuffers(ram, chain, 0, 0);
        Span<byte> request = stackalloc byte[24];
        request.Clear();
        int got = data.ReadRequest(request);
        uint type = got >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(request) : uint.MaxValue;
        Span<byte> response = stackalloc byte[5];
        response.Clear();
        int length;
        switch (type)
        {
            case VirtioScsi.ControlTmf:
                uint subtype = BinaryPrimitives.ReadUInt32LittleEndian(request[4..]);
                response[0] = got < 24 ? VirtioScsi.ResponseFailure
                    : request[8] != 1 || request[9] != 0 ? VirtioScsi.ResponseBadTarget
                    : subtype <= VirtioScsi.TmfQueryTaskSet ? VirtioScsi.ResponseOk
                    : VirtioScsi.ResponseFunctionRejected;
                length = 1;
                break;
            case VirtioScsi.ControlAsyncQuery or VirtioScsi.ControlAsyncSubscribe:
                response[4] = got < 16 ? VirtioScsi.ResponseFailure : request[4] != 1 || request[5] != 0 ? VirtioScsi.ResponseBadTarget : VirtioScsi.ResponseOk;
                length = 5; // event_actual stays 0
                break;
            default:
                response[0] = VirtioScsi.ResponseFailure;
                length = 1;
                break;
        }
        if (data.WritableBytes < length) throw new VirtqueueException($"a SCSI control request has {data.WritableBytes} device-writable bytes, less than its {length}-byte response");
        return (uint)data.WriteResponse(response[..length]);
    }
}
