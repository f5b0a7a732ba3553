//! Accounts: the three roles and the values a person types to sign up or sign in.

use super::{bounded_text, AddressInput, District, FieldError, FieldErrors};
use serde::{Deserialize, Serialize};

/// Who a signed-in person is to Baedal. Each role has its own home page and its own server
/// functions; the server checks the role on every call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Owner,
    Rider,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Customer, Role::Owner, Role::Rider];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Owner => "owner",
            Role::Rider => "rider",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == raw.trim())
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "회원 유형은 customer, owner, rider 중 하나여야 합니다.",
                )
            })
    }

    /// The page a person of this role lands on after signing in.
    pub fn home(self) -> &'static str {
        match self {
            Role::Customer => "/",
            Role::Owner => "/store",
            Role::Rider => "/rider",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Customer => "고객",
            Role::Owner => "상점주",
            Role::Rider => "라이더",
        }
    }
}

/// A normalised (trimmed, lower-case) e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(FieldError::new(field, "이메일을 입력해 주세요."));
        }
        if email.len() > Self::MAX_LEN {
            return Err(FieldError::new(field, "이메일은 254자 이하여야 합니다."));
        }
        let well_formed = match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
                    && email
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "@._%+-'".contains(c))
            }
            None => false,
        };
        if !well_formed {
            return Err(FieldError::new(
                field,
                "이메일 형식이 올바르지 않습니다. (예: hong@example.com)",
            ));
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed. Never logged, never serialised back to a client.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    /// The rules for a new password.
    pub fn parse_new(field: &str, raw: &str) -> Result<Self, FieldError> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(FieldError::new(field, "비밀번호는 8자 이상이어야 합니다."));
        }
        if chars > Self::MAX_CHARS {
            return Err(FieldError::new(field, "비밀번호는 128자 이하여야 합니다."));
        }
        Ok(Password(raw.to_string()))
    }

    /// A password offered at sign-in: only emptiness and absurd length are refused early, so
    /// that sign-in never tells which rule an existing password breaks.
    pub fn parse_existing(field: &str, raw: &str) -> Result<Self, FieldError> {
        if raw.is_empty() {
            return Err(FieldError::new(field, "비밀번호를 입력해 주세요."));
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(field, "비밀번호는 128자 이하여야 합니다."));
        }
        Ok(Password(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A Korean mobile number, normalised to digits only (e.g. "01012345678").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let digits: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .collect();
        let valid = digits.chars().all(|c| c.is_ascii_digit())
            && matches!(digits.len(), 10 | 11)
            && ["010", "011", "016", "017", "018", "019"]
                .iter()
                .any(|prefix| digits.starts_with(prefix));
        if valid {
            Ok(PhoneNumber(digits))
        } else {
            Err(FieldError::new(
                field,
                "휴대폰 번호 형식이 올바르지 않습니다. (예: 010-1234-5678)",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For logs and screens that must not show the whole number: "010-****-5678".
    pub fn masked(&self) -> String {
        let tail = &self.0[self.0.len() - 4..];
        format!("{}-****-{tail}", &self.0[..3])
    }
}

/// What a new account needs, after parsing. Role-specific parts live in `RoleDetails`.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: Email,
    pub password: Password,
    pub display_name: String,
    pub phone: Option<PhoneNumber>,
    pub details: RoleDetails,
}

#[derive(Debug, Clone)]
pub enum RoleDetails {
    /// The delivery address (geocoded when the account is created); stores are sorted by
    /// distance from it and deliver to it within their radius.
    Customer { address: AddressInput },
    /// The first store of the owner (more can be added later), at its address.
    Owner {
        store_name: String,
        store_address: AddressInput,
    },
    /// The rider's home area, used when the browser gives no position.
    Rider { district: District },
}

impl NewAccount {
    pub fn role(&self) -> Role {
        match self.details {
            RoleDetails::Customer { .. } => Role::Customer,
            RoleDetails::Owner { .. } => Role::Owner,
            RoleDetails::Rider { .. } => Role::Rider,
        }
    }
}

/// The sign-up form as it arrives: every field a string, possibly empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SignUpForm {
    pub role: String,
    pub email: String,
    pub password: String,
    pub display_name: String,
    #[serde(default)]
    pub phone: String,
    /// Riders: their home area (a Seoul 구).
    #[serde(default)]
    pub district: String,
    /// Customers: the delivery address (도로명) and its 상세주소.
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub address_detail: String,
    #[serde(default)]
    pub store_name: String,
    /// Owners: the first store's address (도로명) and its 상세주소.
    #[serde(default)]
    pub store_address: String,
    #[serde(default)]
    pub store_address_detail: String,
}

impl SignUpForm {
    pub const NAME_MAX: usize = 40;
    pub const STORE_NAME_MAX: usize = 60;

    /// Parses every field; on failure returns all field errors at once.
    pub fn parse(&self) -> Result<NewAccount, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        let role = errors.check(Role::parse("role", &self.role));
        let email = errors.check(Email::parse("email", &self.email));
        let password = errors.check(Password::parse_new("password", &self.password));
        let display_name = errors.check(bounded_text(
            "display_name",
            &self.display_name,
            "이름",
            Self::NAME_MAX,
        ));
        let phone = if self.phone.trim().is_empty() {
            Some(None)
        } else {
            errors
                .check(PhoneNumber::parse("phone", &self.phone))
                .map(Some)
        };
        let details = match role {
            Some(Role::Customer) => match AddressInput::parse(
                "address",
                &self.address,
                "address_detail",
                &self.address_detail,
            ) {
                Ok(address) => Some(RoleDetails::Customer { address }),
                Err(problems) => {
                    problems.into_iter().for_each(|p| errors.push(p));
                    None
                }
            },
            Some(Role::Rider) => errors
                .check(District::parse("district", &self.district))
                .map(|district| RoleDetails::Rider { district }),
            Some(Role::Owner) => {
                let store_name = errors.check(bounded_text(
                    "store_name",
                    &self.store_name,
                    "상점 이름",
                    Self::STORE_NAME_MAX,
                ));
                let store_address = match AddressInput::parse(
                    "store_address",
                    &self.store_address,
                    "store_address_detail",
                    &self.store_address_detail,
                ) {
                    Ok(address) => Some(address),
                    Err(problems) => {
                        problems.into_iter().for_each(|p| errors.push(p));
                        None
                    }
                };
                match (store_name, store_address) {
                    (Some(store_name), Some(store_address)) => Some(RoleDetails::Owner {
                        store_name,
                        store_address,
                    }),
                    _ => None,
                }
            }
            None => None,
        };
        errors.into_result()?;
        Ok(NewAccount {
            email: email.expect("checked"),
            password: password.expect("checked"),
            display_name: display_name.expect("checked"),
            phone: phone.expect("checked"),
            details: details.expect("checked"),
        })
    }
}

/// The signed-in person as the pages see them (on the server, also a `users` row:
/// id, email, display_name, role, district).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct CurrentUser {
    pub id: super::UserId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Customer: the delivery address's district. Rider: home area. Owner: none.
    pub district: Option<String>,
    /// Customer: the delivery address (도로명) and its 상세주소, as placed by the geocoder.
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub address_detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer_form() -> SignUpForm {
        SignUpForm {
            role: "customer".into(),
            email: " Hong@Example.COM ".into(),
            password: "correct horse".into(),
            display_name: "홍길동".into(),
            address: "서울 마포구 양화로 45".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_customer_form_parses_and_normalises_the_email() {
        let account = customer_form().parse().unwrap();
        assert_eq!(account.email.as_str(), "hong@example.com");
        assert_eq!(account.role(), Role::Customer);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let form = SignUpForm {
            role: "owner".into(),
            email: "not-an-email".into(),
            password: "short".into(),
            display_name: "   ".into(),
            phone: "02-123".into(),
            ..Default::default()
        };
        let fields: Vec<String> = form
            .parse()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "email",
                "password",
                "display_name",
                "phone",
                "store_name",
                "store_address"
            ]
        );
    }

    #[test]
    fn overlong_names_are_refused_with_the_limit() {
        let mut form = customer_form();
        form.display_name = "가".repeat(41);
        let errors = form.parse().unwrap_err();
        assert_eq!(errors[0].field, "display_name");
        assert!(errors[0].message.contains("40자"), "{}", errors[0].message);
        form.display_name = "가".repeat(40);
        assert!(form.parse().is_ok());
    }

    #[test]
    fn emails_must_look_like_emails() {
        for bad in [
            "",
            "a@b",
            "@x.com",
            "a@@x.com",
            "a@x..com",
            "a b@x.com",
            "a@.x.com",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad:?} accepted");
        }
        assert!(Email::parse("email", &format!("{}@x.com", "a".repeat(65))).is_err());
        assert!(Email::parse("email", "kim.o'neil+baedal@mail.co.kr").is_ok());
    }

    #[test]
    fn phone_numbers_are_korean_mobiles_and_mask_in_logs() {
        let phone = PhoneNumber::parse("phone", "010-1234-5678").unwrap();
        assert_eq!(phone.as_str(), "01012345678");
        assert_eq!(phone.masked(), "010-****-5678");
        for bad in ["02-123-4567", "010-12-34", "abc", "0101234567890"] {
            assert!(
                PhoneNumber::parse("phone", bad).is_err(),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn passwords_are_hidden_from_debug_output() {
        let password = Password::parse_new("password", "hunter2hunter2").unwrap();
        assert!(!format!("{password:?}").contains("hunter2"));
        assert!(Password::parse_new("password", &"x".repeat(129)).is_err());
        assert!(Password::parse_existing("password", "").is_err());
    }

    #[test]
    fn roles_round_trip_and_have_homes() {
        for role in Role::ALL {
            assert_eq!(Role::parse("role", role.as_str()).unwrap(), role);
        }
        assert_eq!(Role::Owner.home(), "/store");
        assert!(Role::parse("role", "admin").is_err());
    }
}
