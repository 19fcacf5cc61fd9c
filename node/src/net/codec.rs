//! The request-response [`Codec`] of the federation protocol (specs/federation.md, "Framing").
//!
//! One request and one response per stream, each a frame: a 4-byte big-endian length, then that
//! many bytes of canonical CBOR ([`super::wire`]). The length is checked against the cap of the
//! direction ([`MAX_REQUEST_BYTES`], [`MAX_RESPONSE_BYTES`]) before the buffer is allocated, so a
//! peer cannot make this node allocate more than the cap by lying about a length.

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use libp2p::request_response;

use super::wire::{self, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, Request, Response, WireError};

/// Bytes of the length prefix.
const LENGTH_PREFIX_BYTES: usize = 4;

/// The federation codec. Stateless.
#[derive(Debug, Clone, Copy, Default)]
pub struct FederationCodec;

/// Reads one frame of at most `max` bytes.
pub async fn read_frame<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    max: usize,
) -> io::Result<Vec<u8>> {
    let mut prefix = [0u8; LENGTH_PREFIX_BYTES];
    io.read_exact(&mut prefix).await?;
    let len = u32::from_be_bytes(prefix) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds {max}"),
        ));
    }
    let mut buffer = vec![0u8; len];
    io.read_exact(&mut buffer).await?;
    Ok(buffer)
}

/// Writes one frame (refusing to write more than `max` bytes: the peer would refuse it).
pub async fn write_frame<T: AsyncWrite + Unpin + Send>(
    io: &mut T,
    bytes: &[u8],
    max: usize,
) -> io::Result<()> {
    if bytes.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("frame of {} bytes exceeds {max}", bytes.len()),
        ));
    }
    let len =
        u32::try_from(bytes.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(bytes).await?;
    io.close().await
}

fn invalid(error: WireError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

fn encode_failed(error: causerie_crypto::CodecError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, error)
}

impl request_response::Codec for FederationCodec {
    type Protocol = StreamProtocol;
    type Request = Request;
    type Response = Response;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_frame(io, MAX_REQUEST_BYTES).await?;
        wire::decode_request(&bytes).map_err(invalid)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_frame(io, MAX_RESPONSE_BYTES).await?;
        wire::decode_response(&bytes).map_err(invalid)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Request,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = wire::encode_request(&request).map_err(encode_failed)?;
        write_frame(io, &bytes, MAX_REQUEST_BYTES).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Response,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = wire::encode_response(&response).map_err(encode_failed)?;
        write_frame(io, &bytes, MAX_RESPONSE_BYTES).await
    }
}
