//! The request-response [`Codec`] of the federation protocol (specs/federation.md §3.1).
//!
//! One request and one response per stream, each a frame: a 4-byte big-endian length, then that
//! many bytes of canonical CBOR ([`super::wire`]). The length is checked against the cap of the
//! direction ([`MAX_REQUEST_BYTES`], [`MAX_RESPONSE_BYTES`]) before the buffer is allocated, so a
//! peer cannot make this node allocate more than the cap by lying about a length.
//!
//! An inbound request frame that is over the cap or not a well-formed request is not an I/O
//! error here: libp2p-request-response 0.30 drops a stream whose `read_request` fails without
//! reporting it, so the node could neither answer nor strike the sender. `read_request` instead
//! succeeds with [`FederationRequest::Invalid`], which the swarm actor answers with an error
//! response, counts and strikes like any other failed request. Only a stream that ends or breaks
//! mid-frame is still an I/O error (there is nothing left to answer on).

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use libp2p::request_response;

use super::wire::{
    self, ErrorReason, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, Request, Response, WireError,
};

/// Bytes of the length prefix.
const LENGTH_PREFIX_BYTES: usize = 4;

/// Reason detail of a request whose length prefix is over [`MAX_REQUEST_BYTES`].
pub const REQUEST_TOO_LARGE: &str = "request_too_large";

/// The federation codec. Stateless.
#[derive(Debug, Clone, Copy, Default)]
pub struct FederationCodec;

/// A request as the codec carries it: a well-formed request, or (inbound only) why a frame was
/// not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FederationRequest {
    /// A decoded request within every limit.
    Wire(Request),
    /// An inbound frame over the cap or not a well-formed request. Never written: writing one
    /// fails with [`io::ErrorKind::InvalidInput`].
    Invalid {
        /// What the sender is answered, and the `requests_failed` reason it is counted under.
        reason: ErrorReason,
        /// The precise cause ([`REQUEST_TOO_LARGE`], a codec reason, or a limit reason), for
        /// logs and the strike.
        detail: &'static str,
    },
}

impl From<Request> for FederationRequest {
    fn from(request: Request) -> Self {
        FederationRequest::Wire(request)
    }
}

impl FederationRequest {
    /// Reads an inbound frame's bytes: a [`FederationRequest::Wire`] if they decode to a
    /// well-formed request, else why not.
    pub fn from_frame(bytes: &[u8]) -> Self {
        match wire::decode_request(bytes) {
            Ok(request) => FederationRequest::Wire(request),
            Err(error) => FederationRequest::Invalid {
                reason: match error {
                    WireError::Limit(reason) => reason,
                    WireError::Codec(_) => ErrorReason::Malformed,
                },
                detail: error.reason(),
            },
        }
    }
}

/// Reads a length prefix.
async fn read_length<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<usize> {
    let mut prefix = [0u8; LENGTH_PREFIX_BYTES];
    io.read_exact(&mut prefix).await?;
    Ok(u32::from_be_bytes(prefix) as usize)
}

/// Reads a frame body of `len` bytes (already checked against its cap).
async fn read_body<T: AsyncRead + Unpin + Send>(io: &mut T, len: usize) -> io::Result<Vec<u8>> {
    let mut buffer = vec![0u8; len];
    io.read_exact(&mut buffer).await?;
    Ok(buffer)
}

/// Reads one frame of at most `max` bytes.
pub async fn read_frame<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    max: usize,
) -> io::Result<Vec<u8>> {
    let len = read_length(io).await?;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds {max}"),
        ));
    }
    read_body(io, len).await
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
    type Request = FederationRequest;
    type Response = Response;

    async fn read_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<FederationRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        let len = read_length(io).await?;
        if len > MAX_REQUEST_BYTES {
            // Answered without reading (or allocating) the body the prefix claims.
            return Ok(FederationRequest::Invalid {
                reason: ErrorReason::TooLarge,
                detail: REQUEST_TOO_LARGE,
            });
        }
        let bytes = read_body(io, len).await?;
        Ok(FederationRequest::from_frame(&bytes))
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
        request: FederationRequest,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let FederationRequest::Wire(request) = request else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an invalid request is never sent",
            ));
        };
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
